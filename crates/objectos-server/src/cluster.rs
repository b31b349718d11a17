//! Joins this node to the others serving the same PostgreSQL control store: what the platform
//! publishes goes out on the store's bus, what other nodes publish is applied here (decision 0016).

use objectos_core::cluster::Envelope;
use objectos_store::{BusEvent, ControlStores};
use tokio::sync::watch;

use crate::app::EmbeddedPlatform;

/// Connects the platform's cluster link to the control store's bus, when the store has one (the
/// embedded SQLite store serves one node and has none). The tasks end at shutdown.
pub async fn connect(
    store: &ControlStores,
    platform: &EmbeddedPlatform,
    mut stop: watch::Receiver<bool>,
) -> Result<(), objectos_store::StoreError> {
    let ControlStores::Postgres(pg) = store else {
        return Ok(());
    };
    let Some(mut published) = platform.cluster().connect() else {
        return Ok(());
    };
    let bus = pg.start_bus().await?;
    let (outbound, mut inbound) = (bus.outbound, bus.inbound);
    let node = node_of(platform);
    tokio::spawn(async move {
        while let Some(message) = published.recv().await {
            let envelope = Envelope {
                node: node.clone(),
                message,
            };
            let Ok(payload) = serde_json::to_string(&envelope) else {
                continue;
            };
            if outbound.send(payload).await.is_err() {
                return;
            }
        }
    });
    tracing::info!(node = %node_of(platform), "joined the other nodes of this control store");
    let platform = platform.clone();
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = inbound.recv() => event,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match event {
                Some(BusEvent::Message(text)) => match serde_json::from_str::<Envelope>(&text) {
                    Ok(envelope) => platform.apply_cluster_message(envelope).await,
                    Err(e) => tracing::warn!(error = %e, "cluster message not understood, ignored"),
                },
                Some(BusEvent::Gap) => {
                    tracing::warn!("cluster bus reconnected: dropping every cache of this node");
                    platform.forget_everything_locally().await;
                }
                None => return,
            }
        }
    });
    Ok(())
}

fn node_of(platform: &EmbeddedPlatform) -> String {
    platform.node_id().to_owned()
}
