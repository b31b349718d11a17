//! Messages between the nodes sharing a PostgreSQL control store, over LISTEN/NOTIFY on one
//! channel. Delivery is at most once and only to nodes listening at the time: a node that loses
//! its listening connection is told ([`BusEvent::Gap`]) so it can drop what it cached.

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::{PgControlStore, StoreResult};

/// The NOTIFY channel.
pub const BUS_CHANNEL: &str = "objectos_cluster";

/// Longest payload sent (PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more).
pub const MAX_PAYLOAD: usize = 7_900;

/// How many messages wait in each direction.
const CAPACITY: usize = 16_384;

/// What arrives from the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// A message (as another node, or this one, sent it).
    Message(String),
    /// The listening connection was lost and re-opened: messages may have been missed.
    Gap,
}

/// Both directions of the bus. Dropping it stops its tasks.
#[derive(Debug)]
pub struct Bus {
    /// Payloads to send (at most [`MAX_PAYLOAD`] bytes; longer ones are dropped with a warning).
    pub outbound: mpsc::Sender<String>,
    /// What the nodes sent, this node's own messages included.
    pub inbound: mpsc::Receiver<BusEvent>,
}

impl PgControlStore {
    /// Starts listening on the bus (one connection of the pool, held) and sending to it.
    pub async fn start_bus(&self) -> StoreResult<Bus> {
        let mut listener = PgListener::connect_with(self.pool()).await?;
        listener.listen(BUS_CHANNEL).await?;
        let (in_tx, inbound) = mpsc::channel(CAPACITY);
        let (outbound, mut out_rx) = mpsc::channel::<String>(CAPACITY);
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    () = in_tx.closed() => return,
                    received = listener.try_recv() => match received {
                        Ok(Some(notification)) => BusEvent::Message(notification.payload().to_owned()),
                        // The connection was lost; the next call re-connects and re-listens.
                        Ok(None) => BusEvent::Gap,
                        Err(e) => {
                            tracing::warn!(error = %e, "control store bus: listening failed; retrying in 1 s");
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                            BusEvent::Gap
                        }
                    },
                };
                if in_tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        let pool = self.pool().clone();
        tokio::spawn(async move {
            while let Some(payload) = out_rx.recv().await {
                if payload.len() > MAX_PAYLOAD {
                    tracing::warn!(
                        bytes = payload.len(),
                        "control store bus: message too long, dropped"
                    );
                    continue;
                }
                let sent = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(BUS_CHANNEL)
                    .bind(&payload)
                    .execute(&pool)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "control store bus: a message was not sent");
                }
            }
        });
        Ok(Bus { outbound, inbound })
    }
}
