//! Change notifications per tenant. The history itself lives in the control store; the hub only
//! says "tenant X has new events", so a listener reads them from the store and never misses or
//! reorders one.

use tokio::sync::broadcast;

use crate::cluster::{ClusterLink, ClusterMessage};

/// Capacity of the notification channel; a lagging listener re-reads the store, so loss is harmless.
const CAPACITY: usize = 4096;

/// Broadcasts tenant ids whose history changed.
#[derive(Debug, Clone)]
pub struct EventHub {
    sender: broadcast::Sender<String>,
    cluster: ClusterLink,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new(ClusterLink::default())
    }
}

impl EventHub {
    /// A hub that also tells the other nodes (through `cluster`) when a tenant has new events.
    pub fn new(cluster: ClusterLink) -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender, cluster }
    }

    /// Says that `tenant_id` has new events, here and on the other nodes.
    pub fn notify(&self, tenant_id: &str) {
        self.notify_local(tenant_id);
        self.cluster.publish(ClusterMessage::Events {
            tenant: tenant_id.to_owned(),
        });
    }

    /// Says that `tenant_id` has new events, to this node's listeners only (another node wrote
    /// them).
    pub fn notify_local(&self, tenant_id: &str) {
        // No listener is not an error.
        let _ = self.sender.send(tenant_id.to_owned());
    }

    /// Listens for notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }
}
