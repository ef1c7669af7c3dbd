//! `kubectl describe` of ConfigMap, Secret and ServiceAccount (`ConfigMapDescriber`,
//! `describeSecret`, `describeServiceAccount` in
//! `staging/src/k8s.io/kubectl/pkg/describe/describe.go`, kubectl v1.33): data keys with their
//! values (a ConfigMap) or sizes (a Secret, never the values).

use api::k8s_openapi::api::core::v1 as core;
use api::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::common;
use super::tabwriter::PrefixWriter;

fn header(w: &mut PrefixWriter, meta: &ObjectMeta) {
    w.write(
        0,
        &format!("Name:\t{}\n", meta.name.as_deref().unwrap_or("")),
    );
    w.write(
        0,
        &format!("Namespace:\t{}\n", meta.namespace.as_deref().unwrap_or("")),
    );
    common::labels_multiline(w, "", "Labels", meta.labels.as_ref());
    common::annotations_multiline(w, "Annotations", meta.annotations.as_ref());
}

pub fn describe_config_map(
    cm: &core::ConfigMap,
    events: Option<&[core::Event]>,
    now_secs: i64,
) -> String {
    let mut w = PrefixWriter::new();
    header(&mut w, &cm.metadata);
    w.write(0, "\nData\n====\n");
    for (k, v) in cm.data.iter().flatten() {
        w.write(0, &format!("{k}:\n----\n"));
        w.write(0, &format!("{v}\n"));
        w.write(0, "\n");
    }
    w.write(0, "\nBinaryData\n====\n");
    for (k, v) in cm.binary_data.iter().flatten() {
        w.write(0, &format!("{k}: {} bytes\n", v.0.len()));
    }
    w.write(0, "\n");
    if let Some(events) = events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}

pub fn describe_secret(s: &core::Secret) -> String {
    let mut w = PrefixWriter::new();
    header(&mut w, &s.metadata);
    let type_ = s.type_.as_deref().unwrap_or("");
    w.write(0, &format!("\nType:\t{type_}\n"));
    w.write(0, "\nData\n====\n");
    for (k, v) in s.data.iter().flatten() {
        if k == "token" && type_ == "kubernetes.io/service-account-token" {
            w.write(0, &format!("{k}:\t{}\n", String::from_utf8_lossy(&v.0)));
        } else {
            w.write(0, &format!("{k}:\t{} bytes\n", v.0.len()));
        }
    }
    w.finish()
}

pub fn describe_service_account(
    sa: &core::ServiceAccount,
    events: Option<&[core::Event]>,
    now_secs: i64,
) -> String {
    let mut w = PrefixWriter::new();
    header(&mut w, &sa.metadata);
    let names: Vec<&str> = sa
        .image_pull_secrets
        .iter()
        .flatten()
        .map(|s| s.name.as_str())
        .collect();
    if names.is_empty() {
        w.write(0, "Image pull secrets:\t<none>\n");
    } else {
        let mut prefix = "Image pull secrets:";
        for n in names {
            w.write(0, &format!("{prefix}\t{n}\n"));
            prefix = "                   ";
        }
    }
    if let Some(events) = events {
        common::events(&mut w, events, now_secs);
    }
    w.finish()
}
