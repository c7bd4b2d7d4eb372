//! `LISTEN` on a dedicated connection, reconnecting until the receiver is dropped.
use crate::db::connect_as_with_messages;
use std::time::Duration;
use tokio::sync::mpsc;

/// A notification: its channel and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub channel: String,
    pub payload: String,
}

/// What a listener reports: a notification, or that it (re)connected — notifications sent
/// while it was away are lost, so receivers should look at the tables again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenEvent {
    Connected,
    Notification(Notification),
}

/// Listens on `channels`; the returned receiver yields events until it is dropped.
pub fn listen(database_url: String, channels: Vec<String>) -> mpsc::Receiver<ListenEvent> {
    let (sender, receiver) = mpsc::channel(1024);
    tokio::spawn(async move {
        while !sender.is_closed() {
            if let Err(error) = listen_once(&database_url, &channels, &sender).await {
                tracing::warn!(%error, "database listener lost; reconnecting");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    receiver
}

async fn listen_once(
    database_url: &str,
    channels: &[String],
    sender: &mpsc::Sender<ListenEvent>,
) -> Result<(), crate::DbError> {
    let (client, mut messages) =
        connect_as_with_messages(database_url, "optical-erp-listener").await?;
    for channel in channels {
        let quoted = format!("\"{}\"", channel.replace('"', "\"\""));
        client.batch_execute(&format!("LISTEN {quoted}")).await?;
    }
    if sender.send(ListenEvent::Connected).await.is_err() {
        return Ok(());
    }
    while let Some(message) = messages.recv().await {
        if let tokio_postgres::AsyncMessage::Notification(n) = message? {
            let event = ListenEvent::Notification(Notification {
                channel: n.channel().to_owned(),
                payload: n.payload().to_owned(),
            });
            if sender.send(event).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}
