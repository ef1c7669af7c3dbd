//! Runs a parsed kubectl command against the cluster's apiservers, as kubectl would: the
//! requests each verb makes (`GET`, `LIST`, `POST`, `PATCH`, `DELETE`), sent through the
//! terminal's kubectl client (which fails over between apiservers), and what kubectl prints
//! from the answers: tables and `-o` formats through [`crate::kubectl::print`], the outcome
//! lines of mutations, and errors as kubectl prints them (`Error from server (NotFound): …`).
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/{get,apply,create,delete,label,annotate,scale,
//! set/set_image,taint,drain(cordon),wait}`. Apply is client-side apply: the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation and a three-way patch
//! between it, the manifest and the live object (`apply/patcher.go`), sent as a strategic
//! merge patch; an empty patch prints `unchanged`.
//!
//! Simplifications: kubectl's error output goes to stderr and its tables to stdout; here both
//! are one text in the order printed (a table comes after the errors of its lookups, as
//! kubectl's tabwriter flushes at the end). `wait` polls the watch cache every 250 ms instead of watching; `scale` patches
//! `spec.replicas` rather than the `/scale` subresource; the three-way patch compares lists
//! element by element and sends a changed list whole (strategic merge then merges it by key).

use std::sync::Arc;

use api::kinds::KindInfo;
use api::{Kind, Object, SharedObject};
use cluster::apiserver::{
    ApiReply, ApiRequest, DeleteOptions, GetOptions, ListOptions, PatchType, PropagationPolicy,
    UserInfo, Verb as ApiVerb,
};
use cluster::client::ClientError;
use cluster::{Cluster, RequestError};
use serde_json::{Map, Value, json};

use crate::kubectl::command::{Cascade, MetaChange, Selection, TaintChange, Target, Verb, WaitFor};
use crate::kubectl::jsonpath::{JsonPath, value_text};
use crate::kubectl::outcome::{Outcome, outcome_line};
use crate::kubectl::print::{GetPrintOptions, KindObjects, OutputFormat, print_get, to_value};
use crate::kubectl::{KubectlCommand, KubectlError};
use crate::manifest::Manifest;

mod cluster_info;
mod describe;
mod drain;
mod expose;
mod logs;
mod rollout;
mod top;
mod watch;

/// The annotation client-side apply keeps the applied manifest in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Virtual time one request may take (the client's attempts on every apiserver fit in it).
const REQUEST_LIMIT: sim::Duration = sim::Duration::from_secs(120);
/// How often `wait` and `delete --wait` look again.
const POLL: sim::Duration = sim::Duration::from_millis(250);
/// How long `delete` waits for the objects to be gone (kubectl's default depends on the
/// objects; this bounds it).
const DELETE_WAIT: sim::Duration = sim::Duration::from_secs(60);
/// kind's API endpoint as the admin kubeconfig names it.
pub const SERVER: &str = "127.0.0.1:6443";

/// What one kubectl invocation printed and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubectlOutput {
    pub text: String,
    pub status: i32,
}

/// Where the manifests of `apply -f`/`create -f` come from: the step's manifests, read before
/// the run, each with the name kubectl prints in its errors (the file, or `STDIN`).
pub struct Manifests<'a> {
    pub manifests: &'a [Manifest],
}

impl Manifests<'_> {
    fn objects(&self) -> Vec<(String, &Object)> {
        self.manifests
            .iter()
            .flat_map(|m| {
                let source = match &m.origin {
                    crate::manifest::ManifestOrigin::File(p) => p
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    crate::manifest::ManifestOrigin::Inline => "STDIN".to_string(),
                };
                m.objects.iter().map(move |o| (source.clone(), &o.object))
            })
            .collect()
    }
}

/// Runs one kubectl command line.
pub fn run(cluster: &mut Cluster, line: &str, manifests: &Manifests<'_>) -> KubectlOutput {
    match crate::kubectl::parse(line) {
        Ok(cmd) => run_command(cluster, &cmd, manifests),
        Err(e) => KubectlOutput {
            text: format!("{e}\n"),
            status: 1,
        },
    }
}

/// `kubectl apply -f -` of the step's inline manifests.
pub fn apply_inline(cluster: &mut Cluster, manifests: &Manifests<'_>) -> KubectlOutput {
    let mut s = Session::new(cluster, UserInfo::admin(), None);
    s.apply(manifests);
    s.finish()
}

pub fn run_command(
    cluster: &mut Cluster,
    cmd: &KubectlCommand,
    manifests: &Manifests<'_>,
) -> KubectlOutput {
    let user = match &cmd.global.as_user {
        Some(name) => {
            let groups: Vec<&str> = cmd.global.as_groups.iter().map(String::as_str).collect();
            UserInfo::user_in(name.clone(), &groups)
        }
        None => UserInfo::admin(),
    };
    let mut s = Session::new(cluster, user, cmd.global.namespace.clone());
    match &cmd.verb {
        Verb::Get {
            selection,
            output,
            show_labels,
            no_headers,
            watch,
        } => {
            if *watch {
                let timeout = cmd.global.request_timeout;
                s.watch(selection, output, *no_headers, timeout);
            } else {
                s.get(selection, output, *show_labels, *no_headers);
            }
        }
        Verb::Apply { .. } => s.apply(manifests),
        Verb::CreateFromFiles { .. } => s.create_from_files(manifests),
        Verb::CreateNamespace { name } => s.create_namespace(name),
        Verb::CreateDeployment {
            name,
            images,
            replicas,
            port,
        } => s.create_deployment(name, images, *replicas, *port),
        Verb::CreateService(options) => s.create_service(options),
        Verb::Expose { targets, options } => s.expose(targets, options),
        Verb::Delete {
            selection,
            grace_period,
            cascade,
            wait,
            ..
        } => s.delete(selection, manifests, *grace_period, *cascade, *wait),
        Verb::Label {
            selection,
            changes,
            overwrite,
            resource_version,
        } => s.meta(
            selection,
            changes,
            *overwrite,
            resource_version.as_deref(),
            true,
        ),
        Verb::Annotate {
            selection,
            changes,
            overwrite,
            resource_version,
        } => s.meta(
            selection,
            changes,
            *overwrite,
            resource_version.as_deref(),
            false,
        ),
        Verb::Scale {
            selection,
            replicas,
        } => s.scale(selection, *replicas),
        Verb::SetImage { selection, images } => s.set_image(selection, images),
        Verb::Taint {
            selection,
            changes,
            overwrite,
        } => s.taint(selection, changes, *overwrite),
        Verb::Cordon { selection } => s.cordon(selection, true),
        Verb::Uncordon { selection } => s.cordon(selection, false),
        Verb::Wait {
            selection,
            condition,
            timeout,
        } => s.wait(selection, condition, *timeout),
        Verb::Describe { selection } => s.describe(selection),
        Verb::Rollout {
            action,
            selection,
            to_revision,
            timeout,
        } => s.rollout(*action, selection, *to_revision, *timeout),
        Verb::Drain {
            selection,
            ignore_daemonsets,
            delete_emptydir_data,
            force,
            grace_period,
            timeout,
        } => s.drain(
            selection,
            drain::DrainFlags {
                ignore_daemonsets: *ignore_daemonsets,
                delete_emptydir_data: *delete_emptydir_data,
                force: *force,
                grace_period: *grace_period,
                timeout: *timeout,
            },
        ),
        Verb::Logs {
            pod,
            container,
            previous,
            tail,
            follow,
        } => s.logs(pod, container.as_deref(), *previous, *tail, *follow),
        Verb::ClusterInfo => s.cluster_info(),
        Verb::Top { kind, selection } => s.top(*kind, selection),
    }
    s.finish()
}

/// What the cluster lacks to run a verb (for `kubesim check` and the runner, which report
/// such a step as not simulated instead of running it), or `None` when the verb runs. Each
/// verb's module owns its answer.
pub fn needs(verb: &Verb) -> Option<&'static str> {
    match verb {
        Verb::Get { watch: true, .. } => watch::NEEDS,
        Verb::Describe { .. } => describe::NEEDS,
        Verb::Rollout { .. } => rollout::NEEDS,
        Verb::Drain { .. } => drain::NEEDS,
        Verb::Logs { .. } => logs::NEEDS,
        Verb::ClusterInfo => cluster_info::NEEDS,
        Verb::Top { .. } => top::NEEDS,
        _ => None,
    }
}

/// Whether a command line is `kubectl wait` (whose failure fails the run).
pub fn is_wait(line: &str) -> bool {
    matches!(
        crate::kubectl::parse(line),
        Ok(KubectlCommand {
            verb: Verb::Wait { .. },
            ..
        })
    )
}

struct Session<'a> {
    cluster: &'a mut Cluster,
    user: UserInfo,
    namespace: Option<String>,
    out: String,
    failed: bool,
}

impl<'a> Session<'a> {
    fn new(cluster: &'a mut Cluster, user: UserInfo, namespace: Option<String>) -> Self {
        Session {
            cluster,
            user,
            namespace,
            out: String::new(),
            failed: false,
        }
    }

    fn finish(self) -> KubectlOutput {
        KubectlOutput {
            text: self.out,
            status: i32::from(self.failed),
        }
    }

    fn fail(&mut self, e: KubectlError) {
        self.out.push_str(&e.to_string());
        self.out.push('\n');
        self.failed = true;
    }

    fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }

    /// The namespace a request for `kind` goes to.
    fn ns_for(&self, kind: &KindInfo) -> String {
        if kind.namespaced {
            self.ns().to_string()
        } else {
            String::new()
        }
    }

    fn now_secs(&self) -> i64 {
        apiserver_epoch() + self.cluster.sim().now().as_secs() as i64
    }

    fn call(
        &mut self,
        kind: Kind,
        namespace: &str,
        name: &str,
        verb: ApiVerb,
    ) -> Result<ApiReply, KubectlError> {
        let req = ApiRequest::new(0, self.user.clone(), kind, verb)
            .in_namespace(namespace)
            .named(name);
        match self.cluster.api_request(&self.user, req, REQUEST_LIMIT) {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(ClientError::Status(s))) => Err(KubectlError::Server(s)),
            Ok(Err(ClientError::ConnectionLost)) => Err(KubectlError::Unreachable(format!(
                "read tcp 172.18.0.1:40000->{SERVER}: read: connection reset by peer"
            ))),
            Ok(Err(ClientError::Timeout { .. } | ClientError::NoEndpoint))
            | Err(RequestError::Timeout) => Err(KubectlError::Unreachable(format!(
                "dial tcp {SERVER}: i/o timeout"
            ))),
            Err(e) => Err(KubectlError::Unreachable(e.to_string())),
        }
    }

    fn get_object(
        &mut self,
        kind: &KindInfo,
        namespace: &str,
        name: &str,
        from_cache: bool,
    ) -> Result<SharedObject, KubectlError> {
        let opts = GetOptions {
            resource_version: if from_cache {
                "0".into()
            } else {
                String::new()
            },
        };
        match self.call(kind.kind, namespace, name, ApiVerb::Get(opts))? {
            ApiReply::Object(o) => Ok(o),
            _ => Err(unexpected()),
        }
    }

    fn list(
        &mut self,
        kind: &KindInfo,
        namespace: &str,
        selection: &Selection,
    ) -> Result<Vec<SharedObject>, KubectlError> {
        let opts = ListOptions {
            label_selector: selection.label_selector.clone().unwrap_or_default(),
            field_selector: selection.field_selector.clone().unwrap_or_default(),
            ..ListOptions::default()
        };
        match self.call(kind.kind, namespace, "", ApiVerb::List(opts))? {
            ApiReply::List(l) => Ok(l.items),
            _ => Err(unexpected()),
        }
    }

    /// The objects a selection names: named ones fetched one by one (a missing one is an
    /// error printed, the others go on), unnamed kinds listed with the selectors.
    fn resolve(&mut self, selection: &Selection) -> Vec<(&'static KindInfo, SharedObject)> {
        let mut found = Vec::new();
        for Target { kind, name } in &selection.targets {
            let ns = if selection.all_namespaces {
                String::new()
            } else {
                self.ns_for(kind)
            };
            match name {
                Some(name) => match self.get_object(kind, &ns, name, false) {
                    Ok(o) => found.push((*kind, o)),
                    Err(e) => self.fail(e),
                },
                None => match self.list(kind, &ns, selection) {
                    Ok(items) => found.extend(items.into_iter().map(|o| (*kind, o))),
                    Err(e) => self.fail(e),
                },
            }
        }
        found
    }

    fn get(
        &mut self,
        selection: &Selection,
        output: &OutputFormat,
        show_labels: bool,
        no_headers: bool,
    ) {
        let mut groups: Vec<(&'static KindInfo, Vec<SharedObject>)> = Vec::new();
        for target in &selection.targets {
            let one = Selection {
                targets: vec![target.clone()],
                ..selection.clone()
            };
            let objects = self.resolve(&one);
            let objects: Vec<SharedObject> = objects.into_iter().map(|(_, o)| o).collect();
            match groups.last_mut() {
                Some((k, list)) if k.kind == target.kind.kind => list.extend(objects),
                _ => groups.push((target.kind, objects)),
            }
        }
        let named = selection.targets.len() == 1 && selection.targets[0].name.is_some();
        if self.failed && groups.iter().all(|(_, l)| l.is_empty()) {
            return;
        }
        let refs: Vec<Vec<&Object>> = groups
            .iter()
            .map(|(_, l)| l.iter().map(|o| o.as_ref()).collect())
            .collect();
        let kind_objects: Vec<KindObjects<'_>> = groups
            .iter()
            .zip(&refs)
            .map(|((k, _), objects)| KindObjects { kind: k, objects })
            .collect();
        let opts = GetPrintOptions {
            output: output.clone(),
            all_namespaces: selection.all_namespaces,
            show_labels,
            no_headers,
            namespace: self.ns().to_string(),
            now_secs: self.now_secs(),
        };
        let text = print_get(&kind_objects, named, &opts);
        self.out.push_str(&text);
    }

    /// Applies each manifest object: created with the last-applied annotation, or patched
    /// with the three-way patch, or left `unchanged`.
    fn apply(&mut self, manifests: &Manifests<'_>) {
        for (source, obj) in manifests.objects() {
            if let Err(e) = self.apply_one(&source, obj) {
                self.fail(e);
            }
        }
    }

    /// The manifest's object in the namespace it goes to; kubectl refuses a manifest whose
    /// namespace contradicts `-n`.
    fn placed(&self, obj: &Object) -> Result<Object, KubectlError> {
        let mut obj = obj.clone();
        let info = obj.info();
        if info.namespaced {
            let given = obj.namespace().to_string();
            let ns = match (&self.namespace, given.is_empty()) {
                (Some(flag), false) if *flag != given => {
                    return Err(KubectlError::Usage(format!(
                        "the namespace from the provided object \"{given}\" does not match the namespace \"{flag}\". You must pass '--namespace={given}' to perform this operation."
                    )));
                }
                (_, false) => given,
                (Some(flag), true) => flag.clone(),
                (None, true) => "default".to_string(),
            };
            obj.metadata_mut().namespace = Some(ns);
        }
        Ok(obj)
    }

    fn apply_one(&mut self, source: &str, obj: &Object) -> Result<(), KubectlError> {
        let mut obj = self.placed(obj)?;
        let info = obj.info();
        let ns = obj.namespace().to_string();
        let name = obj.name().to_string();
        // The applied configuration: the manifest with an empty annotations map standing for
        // the annotation itself (kubectl removes it before encoding).
        let mut annotations = obj.annotations().clone();
        annotations.remove(LAST_APPLIED);
        obj.metadata_mut().annotations = Some(annotations.clone());
        let applied = serde_json::to_string(&to_value(&obj)).unwrap_or_default() + "\n";
        annotations.insert(LAST_APPLIED.to_string(), applied);
        obj.metadata_mut().annotations = Some(annotations);
        let current = match self.get_object(info, &ns, &name, false) {
            Ok(o) => o,
            Err(KubectlError::Server(e)) if e.code == 404 => {
                let created = self
                    .call(info.kind, &ns, "", ApiVerb::Create(Arc::new(obj)))
                    .map_err(|e| with_source(e, "creating", source))?;
                if let ApiReply::Object(o) = created {
                    self.out.push_str(&outcome_line(&o, Outcome::Created));
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let modified = to_value(&obj);
        let live = to_value(&current);
        let original: Option<Value> = current
            .annotations()
            .get(LAST_APPLIED)
            .and_then(|s| serde_json::from_str(s).ok());
        let patch = three_way(original.as_ref(), &modified, &live);
        if patch.is_empty() {
            self.out
                .push_str(&outcome_line(&current, Outcome::Unchanged));
            return Ok(());
        }
        let reply = self
            .call(
                info.kind,
                &ns,
                &name,
                ApiVerb::Patch {
                    patch_type: PatchType::StrategicMerge,
                    patch: Arc::new(Value::Object(patch)),
                },
            )
            .map_err(|e| with_source(e, "patching", source))?;
        if let ApiReply::Object(o) = reply {
            let outcome = if o.resource_version() == current.resource_version() {
                Outcome::Unchanged
            } else {
                Outcome::Configured
            };
            self.out.push_str(&outcome_line(&o, outcome));
        }
        Ok(())
    }

    fn create_from_files(&mut self, manifests: &Manifests<'_>) {
        for (source, obj) in manifests.objects() {
            let result = self.placed(obj).and_then(|obj| {
                let ns = obj.namespace().to_string();
                let kind = obj.kind();
                self.call(kind, &ns, "", ApiVerb::Create(Arc::new(obj)))
                    .map_err(|e| with_source(e, "creating", &source))
            });
            match result {
                Ok(ApiReply::Object(o)) => self.out.push_str(&outcome_line(&o, Outcome::Created)),
                Ok(_) => self.fail(unexpected()),
                Err(e) => self.fail(e),
            }
        }
    }

    fn create_value(&mut self, value: Value) {
        let obj: Object = match serde_json::from_value(value) {
            Ok(o) => o,
            Err(e) => return self.fail(KubectlError::Usage(e.to_string())),
        };
        let kind = obj.kind();
        let ns = obj.namespace().to_string();
        match self.call(kind, &ns, "", ApiVerb::Create(Arc::new(obj))) {
            Ok(ApiReply::Object(o)) => self.out.push_str(&outcome_line(&o, Outcome::Created)),
            Ok(_) => self.fail(unexpected()),
            Err(e) => self.fail(e),
        }
    }

    fn create_namespace(&mut self, name: &str) {
        self.create_value(json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
        }));
    }

    /// `kubectl create deployment NAME --image=…`: labels `app: NAME`, one container per
    /// image named after the image's last path segment without tag.
    fn create_deployment(
        &mut self,
        name: &str,
        images: &[String],
        replicas: i32,
        port: Option<i32>,
    ) {
        let containers: Vec<Value> = images
            .iter()
            .map(|image| {
                let base = image.rsplit('/').next().unwrap_or(image);
                let base = base.split([':', '@']).next().unwrap_or(base);
                let mut c = json!({"name": base, "image": image, "resources": {}});
                if let Some(p) = port {
                    c["ports"] = json!([{"containerPort": p}]);
                }
                c
            })
            .collect();
        let ns = self.ns().to_string();
        self.create_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "strategy": {},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": containers}
                }
            }
        }));
    }

    fn delete(
        &mut self,
        selection: &Selection,
        manifests: &Manifests<'_>,
        grace_period: Option<i64>,
        cascade: Cascade,
        wait: bool,
    ) {
        let mut victims: Vec<(&'static KindInfo, String, String)> = Vec::new();
        for (_, obj) in manifests.objects() {
            match self.placed(obj) {
                Ok(o) => victims.push((o.info(), o.namespace().to_string(), o.name().to_string())),
                Err(e) => self.fail(e),
            }
        }
        for Target { kind, name } in &selection.targets {
            let ns = self.ns_for(kind);
            match name {
                Some(n) => victims.push((kind, ns, n.clone())),
                None => match self.list(kind, &ns, selection) {
                    Ok(items) => victims.extend(
                        items
                            .iter()
                            .map(|o| (*kind, o.namespace().to_string(), o.name().to_string())),
                    ),
                    Err(e) => self.fail(e),
                },
            }
        }
        if victims.is_empty() && !self.failed {
            self.out.push_str("No resources found\n");
            return;
        }
        let options = DeleteOptions {
            grace_period_seconds: grace_period,
            propagation_policy: Some(match cascade {
                Cascade::Background => PropagationPolicy::Background,
                Cascade::Foreground => PropagationPolicy::Foreground,
                Cascade::Orphan => PropagationPolicy::Orphan,
            }),
            preconditions: None,
        };
        let mut pending = Vec::new();
        for (kind, ns, name) in victims {
            match self.call(kind.kind, &ns, &name, ApiVerb::Delete(options.clone())) {
                Ok(ApiReply::Deleted { object, gone }) => {
                    self.out.push_str(&outcome_line(&object, Outcome::Deleted));
                    if !gone {
                        pending.push((kind, ns, name));
                    }
                }
                Ok(_) => self.fail(unexpected()),
                Err(e) => self.fail(e),
            }
        }
        if wait && !pending.is_empty() {
            let deadline = self.cluster.sim().now() + DELETE_WAIT;
            while !pending.is_empty() && self.cluster.sim().now() < deadline {
                self.pause(POLL);
                let mut still = Vec::new();
                for (kind, ns, name) in pending {
                    match self.get_object(kind, &ns, &name, true) {
                        Err(KubectlError::Server(e)) if e.code == 404 => {}
                        _ => still.push((kind, ns, name)),
                    }
                }
                pending = still;
            }
            if let Some((kind, _, name)) = pending.first() {
                self.fail(KubectlError::WaitTimeout(format!("{}/{name}", kind.plural)));
            }
        }
    }

    /// Runs the cluster for `d` of virtual time (the terminal waits).
    fn pause(&mut self, d: sim::Duration) {
        let until = self.cluster.sim().now() + d;
        let _ = self.cluster.sim_mut().run_until(until);
    }

    fn patch(
        &mut self,
        obj: &Object,
        patch_type: PatchType,
        patch: Value,
    ) -> Result<SharedObject, KubectlError> {
        match self.call(
            obj.kind(),
            obj.namespace(),
            obj.name(),
            ApiVerb::Patch {
                patch_type,
                patch: Arc::new(patch),
            },
        )? {
            ApiReply::Object(o) => Ok(o),
            _ => Err(unexpected()),
        }
    }

    /// label and annotate: a merge patch of `metadata.labels`/`annotations`.
    fn meta(
        &mut self,
        selection: &Selection,
        changes: &[MetaChange],
        overwrite: bool,
        resource_version: Option<&str>,
        labels: bool,
    ) {
        for (_, obj) in self.resolve(selection) {
            let current = if labels {
                obj.labels()
            } else {
                obj.annotations()
            };
            let mut map = Map::new();
            let mut refused = None;
            for change in changes {
                match change {
                    MetaChange::Set(k, v) => {
                        if let Some(old) = current.get(k)
                            && !overwrite
                            && old != v
                        {
                            refused = Some(format!(
                                "'{k}' already has a value ({old}), and --overwrite is false"
                            ));
                        }
                        map.insert(k.clone(), Value::String(v.clone()));
                    }
                    MetaChange::Remove(k) => {
                        map.insert(k.clone(), Value::Null);
                    }
                }
            }
            if let Some(r) = refused {
                self.fail(KubectlError::Usage(r));
                continue;
            }
            let field = if labels { "labels" } else { "annotations" };
            let mut metadata = json!({ field: map });
            if let Some(rv) = resource_version {
                metadata["resourceVersion"] = Value::String(rv.to_string());
            }
            let before = obj.resource_version().to_string();
            match self.patch(&obj, PatchType::Merge, json!({ "metadata": metadata })) {
                Ok(o) => {
                    let line = if o.resource_version() == before {
                        format!(
                            "{} not {}\n",
                            crate::kubectl::print::resource_name(&o),
                            if labels { "labeled" } else { "annotated" }
                        )
                    } else {
                        let outcome = if labels {
                            Outcome::Labeled
                        } else {
                            Outcome::Annotated
                        };
                        outcome_line(&o, outcome)
                    };
                    self.out.push_str(&line);
                }
                Err(e) => self.fail(e),
            }
        }
    }

    fn scale(&mut self, selection: &Selection, replicas: i32) {
        for (kind, obj) in self.resolve(selection) {
            if !matches!(
                kind.kind,
                Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet
            ) {
                self.fail(KubectlError::Usage(format!(
                    "no scaler has been implemented for {{\"{}\" \"{}\"}}",
                    kind.group, kind.name
                )));
                continue;
            }
            match self.patch(
                &obj,
                PatchType::Merge,
                json!({"spec": {"replicas": replicas}}),
            ) {
                Ok(o) => self.out.push_str(&outcome_line(&o, Outcome::Scaled)),
                Err(e) => self.fail(e),
            }
        }
    }

    fn set_image(&mut self, selection: &Selection, images: &[(String, String)]) {
        for (_, obj) in self.resolve(selection) {
            let value = to_value(&obj);
            let Some(containers) = value
                .pointer("/spec/template/spec/containers")
                .or_else(|| value.pointer("/spec/containers"))
                .and_then(Value::as_array)
            else {
                self.fail(KubectlError::Usage(format!(
                    "{} has no containers",
                    crate::kubectl::print::resource_name(&obj)
                )));
                continue;
            };
            let mut patched = Vec::new();
            for (container, image) in images {
                let mut any = false;
                for c in containers {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                    if container == "*" || container == name {
                        patched.push(json!({"name": name, "image": image}));
                        any = true;
                    }
                }
                if !any {
                    self.fail(KubectlError::Usage(format!(
                        "unable to find container named \"{container}\""
                    )));
                }
            }
            if patched.is_empty() {
                continue;
            }
            let containers = Value::Array(patched);
            let patch = if value.pointer("/spec/template").is_some() {
                json!({"spec": {"template": {"spec": {"containers": containers}}}})
            } else {
                json!({"spec": {"containers": containers}})
            };
            match self.patch(&obj, PatchType::StrategicMerge, patch) {
                Ok(o) => self.out.push_str(&outcome_line(&o, Outcome::ImageUpdated)),
                Err(e) => self.fail(e),
            }
        }
    }

    fn taint(&mut self, selection: &Selection, changes: &[TaintChange], overwrite: bool) {
        for (kind, obj) in self.resolve(selection) {
            if kind.kind != Kind::Node {
                self.fail(KubectlError::Usage(format!(
                    "invalid resource type {}, only node types are supported",
                    kind.plural
                )));
                continue;
            }
            let value = to_value(&obj);
            let mut taints: Vec<Value> = value
                .pointer("/spec/taints")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut removed_any = false;
            let mut added_any = false;
            let mut problem = None;
            for change in changes {
                match change {
                    TaintChange::Add { key, value, effect } => {
                        let same = |t: &Value| {
                            t.get("key").and_then(Value::as_str) == Some(key)
                                && t.get("effect").and_then(Value::as_str) == Some(effect)
                        };
                        if taints.iter().any(same) {
                            if !overwrite {
                                problem = Some(format!(
                                    "node {} already has {key} taint(s) with same effect(s) and --overwrite is false",
                                    obj.name()
                                ));
                                continue;
                            }
                            taints.retain(|t| !same(t));
                        }
                        let mut t = json!({"key": key, "effect": effect});
                        if let Some(v) = value {
                            t["value"] = Value::String(v.clone());
                        }
                        taints.push(t);
                        added_any = true;
                    }
                    TaintChange::Remove { key, effect } => {
                        let before = taints.len();
                        taints.retain(|t| {
                            !(t.get("key").and_then(Value::as_str) == Some(key)
                                && effect.as_deref().is_none_or(|e| {
                                    t.get("effect").and_then(Value::as_str) == Some(e)
                                }))
                        });
                        if taints.len() == before {
                            problem = Some(format!("taint {key:?} not found"));
                        } else {
                            removed_any = true;
                        }
                    }
                }
            }
            if let Some(p) = problem {
                self.fail(KubectlError::Usage(p));
                continue;
            }
            let patch = json!({"spec": {"taints": if taints.is_empty() { Value::Null } else { Value::Array(taints) }}});
            match self.patch(&obj, PatchType::Merge, patch) {
                Ok(o) => {
                    let outcome = if removed_any && !added_any {
                        Outcome::Untainted
                    } else {
                        Outcome::Tainted
                    };
                    self.out.push_str(&outcome_line(&o, outcome));
                }
                Err(e) => self.fail(e),
            }
        }
    }

    fn cordon(&mut self, selection: &Selection, cordon: bool) {
        for (kind, obj) in self.resolve(selection) {
            if kind.kind != Kind::Node {
                self.fail(KubectlError::Usage(format!(
                    "error: unable to {} {}: not a node",
                    if cordon { "cordon" } else { "uncordon" },
                    obj.name()
                )));
                continue;
            }
            let already = matches!(&*obj, Object::Node(n) if n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) == cordon);
            if already {
                let outcome = if cordon {
                    Outcome::AlreadyCordoned
                } else {
                    Outcome::AlreadyUncordoned
                };
                self.out.push_str(&outcome_line(&obj, outcome));
                continue;
            }
            let patch = json!({"spec": {"unschedulable": if cordon { Value::Bool(true) } else { Value::Null }}});
            match self.patch(&obj, PatchType::StrategicMerge, patch) {
                Ok(o) => {
                    let outcome = if cordon {
                        Outcome::Cordoned
                    } else {
                        Outcome::Uncordoned
                    };
                    self.out.push_str(&outcome_line(&o, outcome));
                }
                Err(e) => self.fail(e),
            }
        }
    }

    /// `kubectl wait`: each object until its condition holds, all within `--timeout`; a
    /// timeout prints kubectl's error and the exit status is 1.
    fn wait(
        &mut self,
        selection: &Selection,
        condition: &WaitFor,
        timeout: crate::units::Duration,
    ) {
        let deadline = self.cluster.sim().now() + sim::Duration::from_nanos(timeout.as_nanos());
        // The objects to wait for, by kind, namespace and name.
        let mut targets: Vec<(&'static KindInfo, String, String)> = Vec::new();
        for (kind, obj) in self.resolve(selection) {
            targets.push((kind, obj.namespace().to_string(), obj.name().to_string()));
        }
        if self.failed {
            return;
        }
        if targets.is_empty() {
            self.fail(KubectlError::Usage("no matching resources found".into()));
            return;
        }
        for (kind, ns, name) in targets {
            loop {
                let met = match self.get_object(kind, &ns, &name, true) {
                    Ok(o) => match condition {
                        WaitFor::Delete => None,
                        _ => condition_holds(&o, condition).then_some(o),
                    },
                    Err(KubectlError::Server(e)) if e.code == 404 => {
                        if *condition == WaitFor::Delete {
                            self.out.push_str(&format!(
                                "{}/{name} condition met\n",
                                kind.name.to_ascii_lowercase()
                            ));
                            break;
                        }
                        return self.fail(KubectlError::Server(e));
                    }
                    Err(e) => return self.fail(e),
                };
                if let Some(o) = met {
                    self.out.push_str(&outcome_line(&o, Outcome::ConditionMet));
                    break;
                }
                if self.cluster.sim().now() >= deadline {
                    return self.fail(KubectlError::WaitTimeout(format!("{}/{name}", kind.plural)));
                }
                let step = (deadline - self.cluster.sim().now()).min(POLL);
                self.pause(step);
            }
        }
    }
}

fn unexpected() -> KubectlError {
    KubectlError::Usage("unexpected answer from the server".into())
}

fn with_source(e: KubectlError, verb: &str, source: &str) -> KubectlError {
    match e {
        KubectlError::Server(s) if s.reason != api::status::StatusReason::Invalid => {
            KubectlError::Server(s.with_source(verb, source))
        }
        other => other,
    }
}

/// Virtual time 0 in Unix seconds, as the apiserver stamps objects.
fn apiserver_epoch() -> i64 {
    cluster::apiserver::objects::WALL_EPOCH_SECS
}

/// Whether `obj` satisfies a `--for=condition=…` or `--for=jsonpath=…`.
pub fn condition_holds(obj: &Object, condition: &WaitFor) -> bool {
    let value = to_value(obj);
    match condition {
        WaitFor::Condition { name, value: want } => value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|conds| {
                conds.iter().any(|c| {
                    c.get("type").and_then(Value::as_str) == Some(name.as_str())
                        && c.get("status")
                            .and_then(Value::as_str)
                            .is_some_and(|s| s.eq_ignore_ascii_case(want))
                })
            }),
        WaitFor::JsonPath { path, value: want } => {
            let Ok(jp) = JsonPath::parse(path) else {
                return false;
            };
            let found = jp.values(&value);
            match want {
                None => !found.is_empty(),
                Some(w) => found.iter().any(|v| value_text(v) == *w),
            }
        }
        WaitFor::Create => true,
        WaitFor::Delete => false,
    }
}

/// kubectl's three-way patch (`apply/patcher.go`, `CreateThreeWayMergePatch`): what the
/// manifest (`modified`) sets differently from the live object, plus `null` for what the last
/// applied configuration (`original`) had and the manifest no longer has. Fields the server
/// owns (status, defaults) are in neither and stay as they are.
pub fn three_way(
    original: Option<&Value>,
    modified: &Value,
    current: &Value,
) -> Map<String, Value> {
    let mut patch = Map::new();
    let (Some(m), cur) = (modified.as_object(), current.as_object()) else {
        return patch;
    };
    let empty = Map::new();
    let cur = cur.unwrap_or(&empty);
    let orig = original.and_then(Value::as_object);
    for (k, mv) in m {
        let cv = cur.get(k);
        let ov = orig.and_then(|o| o.get(k));
        match (mv, cv) {
            (Value::Object(_), Some(cv @ Value::Object(_))) => {
                let sub = three_way(ov, mv, cv);
                if !sub.is_empty() {
                    patch.insert(k.clone(), Value::Object(sub));
                }
            }
            (Value::Array(ma), Some(Value::Array(ca))) => {
                if list_differs(ma, ca, ov.and_then(Value::as_array)) {
                    patch.insert(k.clone(), mv.clone());
                }
            }
            _ => {
                if cv != Some(mv) {
                    patch.insert(k.clone(), mv.clone());
                }
            }
        }
    }
    if let Some(o) = orig {
        for k in o.keys() {
            if !m.contains_key(k) && cur.contains_key(k) {
                patch.insert(k.clone(), Value::Null);
            }
        }
    }
    patch
}

/// A list differs when its length or any element differs, elements being compared as
/// [`three_way`] compares objects (so server defaults inside elements are not a change).
fn list_differs(modified: &[Value], current: &[Value], original: Option<&Vec<Value>>) -> bool {
    if modified.len() != current.len() {
        return true;
    }
    modified.iter().zip(current).enumerate().any(|(i, (m, c))| {
        let o = original.and_then(|o| o.get(i));
        match (m, c) {
            (Value::Object(_), Value::Object(_)) => !three_way(o, m, c).is_empty(),
            _ => m != c,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_way_patch_ignores_server_defaults_and_removes_dropped_fields() {
        let original =
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 2}});
        let modified = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}});
        let current = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "uid": "u"}, "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "x", "imagePullPolicy": "IfNotPresent"}]}}}, "status": {}});
        let patch = three_way(Some(&original), &modified, &current);
        assert_eq!(
            Value::Object(patch),
            json!({"metadata": {"labels": {"b": null}}, "spec": {"replicas": 3}})
        );
        let same = three_way(Some(&modified), &modified, &current);
        assert_eq!(Value::Object(same), json!({"spec": {"replicas": 3}}));
    }

    #[test]
    fn conditions_and_jsonpath_are_read_from_the_object() {
        let obj: Object = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"selector": {}, "template": {}},
            "status": {"readyReplicas": 3, "conditions": [{"type": "Available", "status": "True"}]}
        }))
        .unwrap();
        let cond = |name: &str, value: &str| WaitFor::Condition {
            name: name.into(),
            value: value.into(),
        };
        assert!(condition_holds(&obj, &cond("Available", "true")));
        assert!(!condition_holds(&obj, &cond("Available", "false")));
        assert!(!condition_holds(&obj, &cond("Progressing", "true")));
        let jp = |v: Option<&str>| WaitFor::JsonPath {
            path: "{.status.readyReplicas}".into(),
            value: v.map(str::to_string),
        };
        assert!(condition_holds(&obj, &jp(Some("3"))));
        assert!(!condition_holds(&obj, &jp(Some("2"))));
        assert!(condition_holds(&obj, &jp(None)));
    }
}
