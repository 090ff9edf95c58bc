//! `/graphql/ws`: subscriptions over the `graphql-transport-ws` protocol.
//!
//! Only subscriptions run here; queries and mutations go over `POST /graphql`, which has the
//! time limit and the mutation rate limit. Each `subscribe` passes the same document limits as
//! HTTP and runs as the viewer is *now*: the token from `connection_init` is verified again for
//! every operation, and every few seconds (and at once when the account changes) while the
//! socket is open — when it has expired, been revoked, its session logged out, or the account's
//! rights changed, the socket closes with 4403.
//!
//! Bounded: messages (continuations included) up to `WS_MAX_MESSAGE_BYTES`, `connection_init`
//! within `WS_INIT_TIMEOUT_MS` (else 4408), at most `WS_MAX_SUBSCRIPTIONS` per socket, and
//! `WS_MAX_SOCKETS_PER_USER` sockets per account or partner — or per address for anonymous
//! sockets — on each server (else 4429).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use async_graphql::{Request, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{bearer_token, client_of};
use crate::auth::Viewer;
use crate::changes::Scope;
use crate::error::AppError;
use crate::events::Event;
use crate::graphql::{self, AppSchema, OperationKind, limits, response_order};
use crate::rate_limits::ClientAddress;
use crate::services::users;
use crate::state::AppState;

/// The one subprotocol spoken.
const PROTOCOL: &str = "graphql-transport-ws";

/// Open sockets per account (or address), on this server.
#[derive(Default)]
pub(super) struct SocketCounts(Mutex<HashMap<String, usize>>);

impl SocketCounts {
    /// Takes a place for `key` unless `max` are taken; the place is given back when the guard
    /// drops.
    fn take(self: &Arc<Self>, key: String, max: usize) -> Option<SocketPlace> {
        let mut counts = self.0.lock().ok()?;
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SocketPlace {
            counts: self.clone(),
            key,
        })
    }
}

/// A taken place in [`SocketCounts`].
struct SocketPlace {
    counts: Arc<SocketCounts>,
    key: String,
}

impl Drop for SocketPlace {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.0.lock()
            && let Some(count) = counts.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// What a client sends.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {},
    Pong {},
    Subscribe {
        id: String,
        payload: Box<Request>,
    },
    Complete {
        id: String,
    },
}

/// What the subscription tasks hand to the socket's loop.
enum Out {
    Text(String),
    Done(String),
}

/// Upgrades to a websocket speaking `graphql-transport-ws`, and serves it.
pub(super) async fn graphql_ws(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
    counts: web::Data<Arc<SocketCounts>>,
) -> actix_web::Result<HttpResponse> {
    let asks_for_protocol = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == PROTOCOL));
    if !asks_for_protocol {
        return Ok(HttpResponse::BadRequest().body(format!(
            "ask for the `{PROTOCOL}` subprotocol (Sec-WebSocket-Protocol)"
        )));
    }
    let limit = state.config.ws_max_message_bytes;
    let (mut response, session, stream) = actix_ws::handle(&req, body)?;
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(PROTOCOL),
    );
    let messages = stream
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    let socket = Socket {
        state: state.get_ref().clone(),
        schema: schema.get_ref().clone(),
        counts: counts.get_ref().clone(),
        address: client_of(&req, &state),
        session,
    };
    actix_web::rt::spawn(socket.serve(messages));
    Ok(response)
}

/// One open socket.
struct Socket {
    state: AppState,
    schema: AppSchema,
    counts: Arc<SocketCounts>,
    address: ClientAddress,
    session: Session,
}

/// Where a socket stands after `connection_init`.
struct Signed {
    token: Option<String>,
    viewer: Viewer,
    _place: SocketPlace,
}

impl Socket {
    async fn serve(mut self, mut messages: actix_ws::AggregatedMessageStream) {
        let config = self.state.config.clone();
        let (out, mut outgoing) = mpsc::channel::<Out>(64);
        let mut events = self.state.events.subscribe();
        let mut signed: Option<Signed> = None;
        let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
        let init_deadline = tokio::time::sleep(config.ws_init_timeout);
        tokio::pin!(init_deadline);
        let mut recheck = tokio::time::interval(config.ws_recheck);
        recheck.tick().await;
        let closing = loop {
            tokio::select! {
                () = &mut init_deadline, if signed.is_none() => {
                    break Some((4408, "connection_init did not arrive in time".to_string()));
                }
                message = messages.recv() => {
                    let Some(message) = message else { break None };
                    let step = match message {
                        Ok(AggregatedMessage::Text(text)) => {
                            self.on_text(&text, &mut signed, &mut running, &out).await
                        }
                        Ok(AggregatedMessage::Ping(bytes)) => {
                            let _ = self.session.pong(&bytes).await;
                            Ok(())
                        }
                        Ok(AggregatedMessage::Pong(_)) => Ok(()),
                        Ok(AggregatedMessage::Binary(_)) => {
                            Err((4400, "messages are JSON text".to_string()))
                        }
                        Ok(AggregatedMessage::Close(_)) => break None,
                        Err(_) => Err((1009, format!(
                            "a message may be at most {} bytes", config.ws_max_message_bytes
                        ))),
                    };
                    if let Err(close) = step {
                        break Some(close);
                    }
                }
                sent = outgoing.recv() => match sent {
                    Some(Out::Text(text)) => {
                        if self.session.text(text).await.is_err() {
                            break None;
                        }
                    }
                    Some(Out::Done(id)) => {
                        running.remove(&id);
                    }
                    None => break None,
                },
                _ = recheck.tick(), if signed.as_ref().is_some_and(|s| s.token.is_some()) => {
                    if let Err(close) = self.recheck(&mut signed).await {
                        break Some(close);
                    }
                }
                event = events.recv() => {
                    if matches!(event, Err(RecvError::Closed)) {
                        break None;
                    }
                    // A change to the account (role, ban, password, log-out) is checked at once.
                    let mine = match (&event, signed.as_ref().map(|s| &s.viewer)) {
                        (Ok(Event::Sync(Scope::User(id))), Some(Viewer::User(user))) => *id == user.id,
                        (Err(_), Some(_)) => true,
                        _ => false,
                    };
                    if mine && let Err(close) = self.recheck(&mut signed).await {
                        break Some(close);
                    }
                }
            }
        };
        for (_, task) in running.drain() {
            task.abort();
        }
        let reason = closing.map(|(code, description)| CloseReason {
            code: CloseCode::Other(code),
            description: Some(description),
        });
        let _ = self.session.close(reason).await;
    }

    /// Handles one client message; `Err` closes the socket with that code and reason.
    async fn on_text(
        &mut self,
        text: &str,
        signed: &mut Option<Signed>,
        running: &mut HashMap<String, JoinHandle<()>>,
        out: &mpsc::Sender<Out>,
    ) -> Result<(), (u16, String)> {
        let message: ClientMessage = serde_json::from_str(text)
            .map_err(|_| (4400, "not a graphql-transport-ws message".to_string()))?;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if signed.is_some() {
                    return Err((4429, "too many connection_init messages".into()));
                }
                *signed = Some(self.sign_in(payload).await?);
                self.send(json!({ "type": "connection_ack" })).await;
            }
            ClientMessage::Ping {} => self.send(json!({ "type": "pong" })).await,
            ClientMessage::Pong {} => {}
            ClientMessage::Subscribe { id, payload } => {
                let Some(signed) = signed.as_mut() else {
                    return Err((4401, "send connection_init first".into()));
                };
                if running.contains_key(&id) {
                    return Err((4409, format!("subscriber for {id} already exists")));
                }
                if let Some(token) = &signed.token {
                    signed.viewer = self.viewer_now(token).await?;
                }
                if running.len() >= self.state.config.ws_max_subscriptions {
                    let err = AppError::rate_limited(
                        format!(
                            "at most {} subscriptions may be open on one socket",
                            self.state.config.ws_max_subscriptions
                        ),
                        1,
                    );
                    self.send_error(&id, &err).await;
                    return Ok(());
                }
                match self.start(&id, *payload, signed.viewer.clone(), out.clone()) {
                    Ok(task) => {
                        running.insert(id, task);
                    }
                    Err(err) => self.send_error(&id, &err).await,
                }
            }
            ClientMessage::Complete { id } => {
                if let Some(task) = running.remove(&id) {
                    task.abort();
                }
            }
        }
        Ok(())
    }

    /// `connection_init`: the token (as `authorization: Bearer …` or `accessToken`), or none for
    /// an anonymous socket, and a place among the account's sockets.
    async fn sign_in(&self, payload: Option<Value>) -> Result<Signed, (u16, String)> {
        let token = payload.as_ref().and_then(|init| {
            ["authorization", "Authorization", "accessToken"]
                .iter()
                .find_map(|key| init.get(*key).and_then(Value::as_str))
                .map(|value| bearer_token(value).unwrap_or(value).to_string())
        });
        let viewer = match &token {
            None => Viewer::Anonymous,
            Some(token) => self.viewer_now(token).await?,
        };
        let key = match &viewer {
            Viewer::User(user) => format!("user:{}", user.id),
            Viewer::Partner(partner) => format!("partner:{}", partner.id),
            Viewer::Anonymous => format!("address:{}", self.address.0),
        };
        let place = self
            .counts
            .take(key, self.state.config.ws_max_sockets_per_user)
            .ok_or_else(|| {
                (
                    4429,
                    format!(
                        "at most {} sockets may be open at once",
                        self.state.config.ws_max_sockets_per_user
                    ),
                )
            })?;
        Ok(Signed {
            token,
            viewer,
            _place: place,
        })
    }

    /// The viewer `token` speaks for now; a token that no longer does closes the socket.
    async fn viewer_now(&self, token: &str) -> Result<Viewer, (u16, String)> {
        users::authenticate_session(&self.state, token)
            .await
            .map_err(|err| match err {
                AppError::Unavailable(_) | AppError::Internal(_) => {
                    (4500, "could not check the access token".to_string())
                }
                other => (4403, format!("Forbidden: {other}")),
            })
    }

    /// Checks the socket's token again: `Err` when it no longer holds, or the account lost a
    /// right its open subscriptions run with. Rights gained only apply to later operations. A
    /// database hiccup keeps the socket.
    async fn recheck(&self, signed: &mut Option<Signed>) -> Result<(), (u16, String)> {
        let Some(Signed {
            token: Some(token),
            viewer,
            ..
        }) = signed
        else {
            return Ok(());
        };
        match self.viewer_now(token).await {
            Ok(now) if now.has_every_right_of(viewer) => {
                *viewer = now;
                Ok(())
            }
            Ok(_) => Err((
                4403,
                "Forbidden: this account lost rights; connect again".into(),
            )),
            Err((4500, _)) => Ok(()),
            Err(close) => Err(close),
        }
    }

    /// Runs a subscription in a task of its own, forwarding its results as `next` and ending
    /// with `complete`; a document refused up front is an `error` for its id.
    fn start(
        &self,
        id: &str,
        mut request: Request,
        viewer: Viewer,
        out: mpsc::Sender<Out>,
    ) -> Result<JoinHandle<()>, AppError> {
        let checks = limits::DocumentLimits::from_config(&self.state.config);
        let checked = limits::check(&mut request, &checks)?;
        if checked.as_ref().map(|c| c.kind) != Some(OperationKind::Subscription) {
            return Err(AppError::bad_input(
                "query",
                "only subscriptions run over the socket; send queries and mutations to POST /graphql",
            ));
        }
        graphql::absent_variables::drop_usages(&mut request);
        let document = request.parsed_query().ok().cloned();
        let operation_name = request.operation_name.clone();
        let request = graphql::prepare(request, viewer, self.address.clone(), &self.state);
        let schema = self.schema.clone();
        let id = id.to_string();
        let clock = self.state.clock.clone();
        Ok(tokio::spawn(clock.scope(async move {
            let mut stream = schema.execute_stream(request);
            let mut first = true;
            while let Some(response) = stream.next().await {
                let mut response = graphql::with_codes(response);
                if let Some(document) = &document {
                    response_order::reorder(
                        &mut response.data,
                        document,
                        operation_name.as_deref(),
                    );
                }
                // Errors of the document itself (no path) refuse the operation; a field error
                // (the subscription could not start) is a result like any other.
                let refused = first
                    && response.data == async_graphql::Value::Null
                    && response.is_err()
                    && response.errors.iter().all(|e| e.path.is_empty());
                first = false;
                let message = if refused {
                    json!({ "type": "error", "id": id, "payload": response.errors })
                } else {
                    json!({ "type": "next", "id": id, "payload": response })
                };
                if out.send(Out::Text(message.to_string())).await.is_err() || refused {
                    let _ = out.send(Out::Done(id.clone())).await;
                    return;
                }
            }
            let complete = json!({ "type": "complete", "id": id });
            let _ = out.send(Out::Text(complete.to_string())).await;
            let _ = out.send(Out::Done(id)).await;
        })))
    }

    async fn send(&mut self, message: Value) {
        let _ = self.session.text(message.to_string()).await;
    }

    async fn send_error(&mut self, id: &str, err: &AppError) {
        let response: Response = graphql::refused(err);
        self.send(json!({ "type": "error", "id": id, "payload": response.errors }))
            .await;
    }
}
