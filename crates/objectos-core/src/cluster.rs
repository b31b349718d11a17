//! What one node tells the other nodes serving the same control store: drop what you cached about
//! a tenant, forget cached keys, a tenant has new events. On the embedded default (one node) no
//! transport is connected and publishing costs nothing; with a PostgreSQL control store the server
//! connects one (LISTEN/NOTIFY), so a suspend, key revocation, plan change or deployment on one
//! node takes effect on the others at once instead of when their caches expire.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// How many messages may wait for the transport; past that one is dropped with a warning (the
/// caches it would have cleared still expire on their own).
const OUTBOUND_CAPACITY: usize = 16_384;

/// A message between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ClusterMessage {
    /// Drop everything cached about the tenant (status, plan, model, connection, keys).
    Invalidate {
        /// The tenant.
        tenant: String,
    },
    /// Forget every cached key authentication (a key was revoked).
    Keys,
    /// The tenant's event history grew (wakes event streams on every node).
    Events {
        /// The tenant.
        tenant: String,
    },
}

/// A message with the node that sent it, as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending node's id.
    pub node: String,
    /// The message.
    #[serde(flatten)]
    pub message: ClusterMessage,
}

/// The outbound side of the link between nodes; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ClusterLink {
    outbound: Arc<OnceLock<mpsc::Sender<ClusterMessage>>>,
}

impl ClusterLink {
    /// Sends `message` to the other nodes, if a transport is connected. Never blocks.
    pub fn publish(&self, message: ClusterMessage) {
        let Some(sender) = self.outbound.get() else {
            return;
        };
        if let Err(e) = sender.try_send(message) {
            tracing::warn!(error = %e, "cluster message dropped; other nodes' caches expire on their own");
        }
    }

    /// Connects a transport: the messages this node publishes from now on arrive on the returned
    /// receiver. `None` when one is connected already.
    pub fn connect(&self) -> Option<mpsc::Receiver<ClusterMessage>> {
        let (sender, receiver) = mpsc::channel(OUTBOUND_CAPACITY);
        self.outbound.set(sender).ok().map(|()| receiver)
    }

    /// Whether a transport is connected.
    pub fn is_connected(&self) -> bool {
        self.outbound.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_travel_as_small_json() {
        let envelope = Envelope {
            node: "node-a".into(),
            message: ClusterMessage::Invalidate {
                tenant: "acme".into(),
            },
        };
        let text = serde_json::to_string(&envelope).unwrap();
        assert_eq!(
            text,
            r#"{"node":"node-a","kind":"invalidate","tenant":"acme"}"#
        );
        assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), envelope);
        let keys = r#"{"node":"n","kind":"keys"}"#;
        assert_eq!(
            serde_json::from_str::<Envelope>(keys).unwrap().message,
            ClusterMessage::Keys
        );
    }

    #[tokio::test]
    async fn publishing_without_a_transport_is_a_no_op_and_with_one_delivers() {
        let link = ClusterLink::default();
        link.publish(ClusterMessage::Keys);
        assert!(!link.is_connected());
        let mut receiver = link.connect().unwrap();
        assert!(link.connect().is_none(), "one transport");
        link.publish(ClusterMessage::Keys);
        assert_eq!(receiver.recv().await, Some(ClusterMessage::Keys));
    }
}
