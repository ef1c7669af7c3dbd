//! TEST DOUBLE: a scripted stand-in for kube-apiserver that speaks `apiserver::protocol` over
//! sim streams — get/list/create/update/delete with resourceVersions and 409 on a stale one,
//! and watches from a resourceVersion with ERROR 410 when it is older than the retained window.
//! It exists only so the client library can be tested before the real apiserver actor exists;
//! it has no admission, validation, RBAC, selectors or etcd.

// Shared by several test binaries; each uses a different part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use api::status::StatusError;
use api::{Kind, Object, SharedObject};
use apiserver::{
    ApiMessage, ApiReply, ApiRequest, ApiResponse, EventType, ObjectList, Verb, WatchEndReason,
    WatchEvent,
};
use sim::{Actor, ActorId, Ctx, StreamId};

type Key = (Kind, String, String);

#[derive(Default)]
pub struct FakeApiserver {
    objects: BTreeMap<Key, SharedObject>,
    rv: i64,
    /// Events kept for watches, oldest first; a watch from before `window_start` gets 410.
    events: Vec<(Kind, Arc<WatchEvent>)>,
    window_start: i64,
    watchers: BTreeMap<(StreamId, u64), Kind>,
    pub requests: u64,
    /// Swallows every request without answering (a hung replica).
    pub mute: bool,
}

fn key(kind: Kind, obj: &Object) -> Key {
    (kind, obj.namespace().to_string(), obj.name().to_string())
}

impl FakeApiserver {
    /// Stores an object as the apiserver would (new resourceVersion) and tells watchers.
    pub fn put(&mut self, ctx: &mut Ctx<'_, ApiMessage>, obj: Object) -> SharedObject {
        let kind = obj.kind();
        let existed = self.objects.contains_key(&key(kind, &obj));
        self.rv += 1;
        let mut obj = obj;
        obj.metadata_mut().resource_version = Some(self.rv.to_string());
        if obj.metadata().uid.is_none() {
            obj.metadata_mut().uid = Some(format!("uid-{}", self.rv));
        }
        let obj = Arc::new(obj);
        self.objects.insert(key(kind, &obj), obj.clone());
        let t = if existed {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(ctx, kind, t, obj.clone());
        obj
    }

    pub fn delete(&mut self, ctx: &mut Ctx<'_, ApiMessage>, kind: Kind, ns: &str, name: &str) {
        if let Some(old) = self
            .objects
            .remove(&(kind, ns.to_string(), name.to_string()))
        {
            self.rv += 1;
            let mut last = (*old).clone();
            last.metadata_mut().resource_version = Some(self.rv.to_string());
            self.emit(ctx, kind, EventType::Deleted, Arc::new(last));
        }
    }

    /// Deletes without telling anyone (the change a client can only learn by relisting).
    pub fn delete_silently(&mut self, kind: Kind, ns: &str, name: &str) {
        self.objects
            .remove(&(kind, ns.to_string(), name.to_string()));
        self.rv += 1;
    }

    /// Compaction: every watcher gets ERROR 410 and its watch ends; history is dropped.
    pub fn compact_and_expire_watches(&mut self, ctx: &mut Ctx<'_, ApiMessage>) {
        self.window_start = self.rv + 1;
        self.events.clear();
        for ((stream, id), _) in std::mem::take(&mut self.watchers) {
            let err = apiserver::protocol::too_old_resource_version(1, self.window_start);
            let event = Arc::new(WatchEvent {
                event_type: EventType::Error,
                object: None,
                resource_version: 0,
                error: Some(err),
            });
            let _ = ctx.stream_send(stream, ApiMessage::WatchEvent { id, event });
            let _ = ctx.stream_send(
                stream,
                ApiMessage::WatchEnd {
                    id,
                    reason: WatchEndReason::Error,
                },
            );
        }
    }

    /// A BOOKMARK at the current resourceVersion to every watcher.
    pub fn bookmark(&mut self, ctx: &mut Ctx<'_, ApiMessage>) {
        let event = Arc::new(WatchEvent {
            event_type: EventType::Bookmark,
            object: None,
            resource_version: self.rv,
            error: None,
        });
        for (stream, id) in self.watchers.keys() {
            let _ = ctx.stream_send(
                *stream,
                ApiMessage::WatchEvent {
                    id: *id,
                    event: event.clone(),
                },
            );
        }
    }

    /// Advances the resourceVersion with a change to some other resource.
    pub fn bump(&mut self) {
        self.rv += 1;
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<&SharedObject> {
        self.objects.get(&(kind, ns.to_string(), name.to_string()))
    }

    pub fn names(&self, kind: Kind) -> Vec<String> {
        self.objects
            .keys()
            .filter(|k| k.0 == kind)
            .map(|k| format!("{}/{}", k.1, k.2))
            .collect()
    }

    fn emit(&mut self, ctx: &mut Ctx<'_, ApiMessage>, kind: Kind, t: EventType, obj: SharedObject) {
        let event = Arc::new(WatchEvent {
            event_type: t,
            object: Some(obj),
            resource_version: self.rv,
            error: None,
        });
        self.events.push((kind, event.clone()));
        for ((stream, id), k) in &self.watchers {
            if *k == kind {
                let _ = ctx.stream_send(
                    *stream,
                    ApiMessage::WatchEvent {
                        id: *id,
                        event: event.clone(),
                    },
                );
            }
        }
    }

    fn answer(&mut self, ctx: &mut Ctx<'_, ApiMessage>, stream: StreamId, req: &ApiRequest) {
        let info = req.kind.info();
        let k = (req.kind, req.namespace.clone(), req.name.clone());
        let result = match &req.verb {
            Verb::Get(_) => self
                .objects
                .get(&k)
                .cloned()
                .map(ApiReply::Object)
                .ok_or_else(|| StatusError::not_found(info, &req.name)),
            Verb::List(_) => Ok(ApiReply::List(ObjectList {
                resource_version: self.rv.to_string(),
                items: self
                    .objects
                    .iter()
                    .filter(|(key, _)| {
                        key.0 == req.kind && (req.namespace.is_empty() || key.1 == req.namespace)
                    })
                    .map(|(_, o)| o.clone())
                    .collect(),
                continue_token: String::new(),
                remaining_item_count: None,
            })),
            Verb::Create(obj) => {
                if self.objects.contains_key(&key(req.kind, obj)) {
                    Err(StatusError::already_exists(info, obj.name()))
                } else {
                    Ok(ApiReply::Object(self.put(ctx, (**obj).clone())))
                }
            }
            Verb::Update(obj) => match self.objects.get(&key(req.kind, obj)) {
                None => Err(StatusError::not_found(info, obj.name())),
                Some(cur)
                    if !obj.resource_version().is_empty()
                        && cur.resource_version() != obj.resource_version() =>
                {
                    Err(StatusError::conflict(
                        info,
                        obj.name(),
                        api::status::OPTIMISTIC_LOCK_MESSAGE,
                    ))
                }
                Some(_) => Ok(ApiReply::Object(self.put(ctx, (**obj).clone()))),
            },
            Verb::Delete(_) => match self.objects.get(&k).cloned() {
                None => Err(StatusError::not_found(info, &req.name)),
                Some(obj) => {
                    self.delete(ctx, req.kind, &req.namespace, &req.name);
                    Ok(ApiReply::Deleted {
                        object: obj,
                        gone: true,
                    })
                }
            },
            Verb::Watch(opts) => {
                let from: i64 = opts.resource_version.parse().unwrap_or(0);
                if from > 0 && from + 1 < self.window_start {
                    let err =
                        apiserver::protocol::too_old_resource_version(from, self.window_start);
                    let event = Arc::new(WatchEvent {
                        event_type: EventType::Error,
                        object: None,
                        resource_version: 0,
                        error: Some(err),
                    });
                    let _ = ctx.stream_send(stream, ApiMessage::WatchEvent { id: req.id, event });
                    let _ = ctx.stream_send(
                        stream,
                        ApiMessage::WatchEnd {
                            id: req.id,
                            reason: WatchEndReason::Error,
                        },
                    );
                    return;
                }
                if from == 0 {
                    for obj in self
                        .objects
                        .iter()
                        .filter(|(key, _)| key.0 == req.kind)
                        .map(|(_, o)| o.clone())
                        .collect::<Vec<_>>()
                    {
                        let rv = obj.resource_version().parse().unwrap_or(0);
                        let event = Arc::new(WatchEvent {
                            event_type: EventType::Added,
                            object: Some(obj),
                            resource_version: rv,
                            error: None,
                        });
                        let _ =
                            ctx.stream_send(stream, ApiMessage::WatchEvent { id: req.id, event });
                    }
                } else {
                    for (_, e) in self
                        .events
                        .iter()
                        .filter(|(kind, e)| *kind == req.kind && e.resource_version > from)
                    {
                        let _ = ctx.stream_send(
                            stream,
                            ApiMessage::WatchEvent {
                                id: req.id,
                                event: e.clone(),
                            },
                        );
                    }
                }
                self.watchers.insert((stream, req.id), req.kind);
                return;
            }
            _ => Err(StatusError::bad_request(
                "the fake apiserver does not serve this verb",
            )),
        };
        let _ = ctx.stream_send(
            stream,
            ApiMessage::Response(Arc::new(ApiResponse { id: req.id, result })),
        );
    }
}

impl Actor<ApiMessage> for FakeApiserver {
    fn on_message(&mut self, _ctx: &mut Ctx<'_, ApiMessage>, _from: ActorId, _msg: ApiMessage) {}

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _from: ActorId,
        msg: ApiMessage,
    ) {
        match msg {
            ApiMessage::Request(_) if self.mute => self.requests += 1,
            ApiMessage::Request(req) => {
                self.requests += 1;
                self.answer(ctx, stream, &req);
            }
            ApiMessage::CancelWatch { id } if self.watchers.remove(&(stream, id)).is_some() => {
                let _ = ctx.stream_send(
                    stream,
                    ApiMessage::WatchEnd {
                        id,
                        reason: WatchEndReason::Cancelled,
                    },
                );
            }
            _ => {}
        }
    }

    fn on_stream_closed(
        &mut self,
        _ctx: &mut Ctx<'_, ApiMessage>,
        stream: StreamId,
        _why: sim::StreamClose,
    ) {
        self.watchers.retain(|(s, _), _| *s != stream);
    }
}
