//! Change notifications per tenant. The history itself lives in the control store; the hub only
//! says "tenant X has new events", so a listener reads them from the store and never misses or
//! reorders one.

use tokio::sync::broadcast;

/// Capacity of the notification channel; a lagging listener re-reads the store, so loss is harmless.
const CAPACITY: usize = 4096;

/// Broadcasts tenant ids whose history changed.
#[derive(Debug, Clone)]
pub struct EventHub {
    sender: broadcast::Sender<String>,
}

impl Default for EventHub {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender }
    }
}

impl EventHub {
    /// Says that `tenant_id` has new events.
    pub fn notify(&self, tenant_id: &str) {
        // No listener is not an error.
        let _ = self.sender.send(tenant_id.to_owned());
    }

    /// Listens for notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }
}
