//! Bindings for `plumbline:plugin@0.1.0` (frozen), mapped onto the latest
//! contract: every 0.1.0 host trait forwards to the latest one, and every
//! type crosses here, so nothing else in the agent knows 0.1.0 exists.
//!
//! A 0.1.0 plugin declares no settings, permissions or watched folders:
//! it gets empty lists, which the agent reads as "not declared" (its
//! settings are passed on unchecked).

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "plumbline:plugin/tcp.connection": crate::capabilities::tcp::Connection,
    },
});

use super::latest::plumbline::plugin as new;
use crate::capabilities::tcp::Connection;
use crate::capabilities::HostState;
use plumbline::plugin as old;
use wasmtime::component::Resource;

fn attribute(a: old::types::Attribute) -> new::types::Attribute {
    new::types::Attribute { name: a.name, value: a.value }
}

fn old_attribute(a: new::types::Attribute) -> old::types::Attribute {
    old::types::Attribute { name: a.name, value: a.value }
}

fn category(c: old::types::Category) -> new::types::Category {
    use new::types::Category as N;
    use old::types::Category as O;
    match c {
        O::TeamsConnector => N::TeamsConnector,
        O::IncomingWebhook => N::IncomingWebhook,
        O::Workflow => N::Workflow,
        O::PowerAutomateFlow => N::PowerAutomateFlow,
        O::ExchangeConnector => N::ExchangeConnector,
        O::SmtpRelay => N::SmtpRelay,
        O::WebhookReference => N::WebhookReference,
    }
}

fn severity(s: old::types::Severity) -> new::types::Severity {
    use new::types::Severity as N;
    use old::types::Severity as O;
    match s {
        O::Info => N::Info,
        O::Low => N::Low,
        O::Medium => N::Medium,
        O::High => N::High,
        O::Critical => N::Critical,
    }
}

/// `describe()` of a 0.1.0 plugin: nothing declared beyond 0.1.0.
pub fn plugin_info(info: old::types::PluginInfo) -> new::types::PluginInfo {
    let caps = info.capabilities;
    new::types::PluginInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        categories: info.categories.into_iter().map(category).collect(),
        capabilities: new::types::Capabilities {
            http_hosts: caps.http_hosts,
            tcp_targets: caps
                .tcp_targets
                .into_iter()
                .map(|t| new::types::TcpTarget { host: t.host, ports: t.ports })
                .collect(),
            file_dirs: caps.file_dirs,
        },
        settings: Vec::new(),
        required_permissions: Vec::new(),
        watch: Vec::new(),
    }
}

/// The scan context as 0.1.0 has it (the same fields).
pub fn scan_context(ctx: &new::types::ScanContext) -> old::types::ScanContext {
    old::types::ScanContext {
        tenant_id: ctx.tenant_id.clone(),
        site_id: ctx.site_id.clone(),
        started_at_ms: ctx.started_at_ms,
        settings: ctx.settings.iter().cloned().map(old_attribute).collect(),
    }
}

/// A 0.1.0 report in the latest types.
pub fn report(r: old::types::Report) -> new::types::Report {
    new::types::Report {
        connectors: r
            .connectors
            .into_iter()
            .map(|c| new::types::ConnectorRecord {
                key: c.key,
                category: category(c.category),
                name: c.name,
                scope: c.scope,
                owner: c.owner,
                co_owners: c.co_owners,
                purpose: c.purpose,
                auth_type: c.auth_type,
                migration_state: c.migration_state,
                created: c.created,
                changed: c.changed,
                attributes: c.attributes.into_iter().map(attribute).collect(),
            })
            .collect(),
        findings: r
            .findings
            .into_iter()
            .map(|f| new::types::Finding {
                check_id: f.check_id,
                connector_key: f.connector_key,
                severity: severity(f.severity),
                title: f.title,
                detail: f.detail,
                remediation: f.remediation,
                evidence: f.evidence.into_iter().map(attribute).collect(),
            })
            .collect(),
    }
}

/// A 0.1.0 scan error in the latest types.
pub fn scan_error(e: old::types::ScanError) -> new::types::ScanError {
    use new::types::ScanError as N;
    use old::types::ScanError as O;
    match e {
        O::Config(m) => N::Config(m),
        O::Denied(m) => N::Denied(m),
        O::Malformed(m) => N::Malformed(m),
        O::Upstream(m) => N::Upstream(m),
        O::Other(m) => N::Other(m),
    }
}

impl old::types::Host for HostState {}

impl old::http::Host for HostState {
    async fn send(&mut self, req: old::http::Request) -> wasmtime::Result<Result<old::http::Response, old::http::HttpError>> {
        let req = new::http::Request {
            method: req.method,
            url: req.url,
            headers: req.headers.into_iter().map(attribute).collect(),
            body: req.body,
            credential: req.credential,
        };
        let out = <HostState as new::http::Host>::send(self, req).await?;
        Ok(out
            .map(|r| old::http::Response {
                status: r.status,
                headers: r.headers.into_iter().map(old_attribute).collect(),
                body: r.body,
            })
            .map_err(|e| {
                use new::http::HttpError as N;
                use old::http::HttpError as O;
                match e {
                    N::Denied(m) => O::Denied(m),
                    N::InvalidRequest(m) => O::InvalidRequest(m),
                    N::Timeout(m) => O::Timeout(m),
                    N::Transport(m) => O::Transport(m),
                    N::TooLarge(m) => O::TooLarge(m),
                    N::Credential(m) => O::Credential(m),
                }
            }))
    }
}

fn tcp_error(e: new::tcp::TcpError) -> old::tcp::TcpError {
    use new::tcp::TcpError as N;
    use old::tcp::TcpError as O;
    match e {
        N::Denied(m) => O::Denied(m),
        N::Timeout(m) => O::Timeout(m),
        N::Closed => O::Closed,
        N::Io(m) => O::Io(m),
        N::Tls(m) => O::Tls(m),
        N::Limit(m) => O::Limit(m),
    }
}

impl old::tcp::Host for HostState {
    async fn connect(
        &mut self,
        host: String,
        port: u16,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Resource<Connection>, old::tcp::TcpError>> {
        Ok(<HostState as new::tcp::Host>::connect(self, host, port, timeout_ms).await?.map_err(tcp_error))
    }
}

impl old::tcp::HostConnection for HostState {
    async fn read(
        &mut self,
        conn: Resource<Connection>,
        max_bytes: u32,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, old::tcp::TcpError>> {
        Ok(<HostState as new::tcp::HostConnection>::read(self, conn, max_bytes, timeout_ms).await?.map_err(tcp_error))
    }

    async fn write(
        &mut self,
        conn: Resource<Connection>,
        data: Vec<u8>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<(), old::tcp::TcpError>> {
        Ok(<HostState as new::tcp::HostConnection>::write(self, conn, data, timeout_ms).await?.map_err(tcp_error))
    }

    async fn start_tls(
        &mut self,
        conn: Resource<Connection>,
        server_name: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<old::tcp::TlsInfo, old::tcp::TcpError>> {
        let out = <HostState as new::tcp::HostConnection>::start_tls(self, conn, server_name, timeout_ms).await?;
        Ok(out
            .map(|t| old::tcp::TlsInfo {
                protocol: t.protocol,
                cipher: t.cipher,
                subject: t.subject,
                issuer: t.issuer,
                not_before: t.not_before,
                not_after: t.not_after,
                self_signed: t.self_signed,
                trusted: t.trusted,
            })
            .map_err(tcp_error))
    }

    async fn drop(&mut self, conn: Resource<Connection>) -> wasmtime::Result<()> {
        <HostState as new::tcp::HostConnection>::drop(self, conn).await
    }
}

impl old::files::Host for HostState {
    async fn list_dir(
        &mut self,
        path: String,
    ) -> wasmtime::Result<Result<Vec<old::files::DirEntry>, old::files::FileError>> {
        let out = <HostState as new::files::Host>::list_dir(self, path).await?;
        Ok(out
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|e| old::files::DirEntry {
                        name: e.name,
                        kind: match e.kind {
                            new::files::EntryKind::File => old::files::EntryKind::File,
                            new::files::EntryKind::Directory => old::files::EntryKind::Directory,
                            new::files::EntryKind::Other => old::files::EntryKind::Other,
                        },
                        size: e.size,
                        world_readable: e.world_readable,
                    })
                    .collect()
            })
            .map_err(file_error))
    }

    async fn read_file(
        &mut self,
        path: String,
        max_bytes: u64,
    ) -> wasmtime::Result<Result<Vec<u8>, old::files::FileError>> {
        Ok(<HostState as new::files::Host>::read_file(self, path, max_bytes).await?.map_err(file_error))
    }
}

fn file_error(e: new::files::FileError) -> old::files::FileError {
    use new::files::FileError as N;
    use old::files::FileError as O;
    match e {
        N::Denied(m) => O::Denied(m),
        N::NotFound(m) => O::NotFound(m),
        N::TooLarge(m) => O::TooLarge(m),
        N::Io(m) => O::Io(m),
    }
}

impl old::log::Host for HostState {
    async fn write(&mut self, level: old::log::Level, message: String) -> wasmtime::Result<()> {
        use new::log::Level as N;
        use old::log::Level as O;
        let level = match level {
            O::Trace => N::Trace,
            O::Debug => N::Debug,
            O::Info => N::Info,
            O::Warn => N::Warn,
            O::Error => N::Error,
        };
        <HostState as new::log::Host>::write(self, level, message).await
    }
}

impl old::host_info::Host for HostState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        <HostState as new::host_info::Host>::now_ms(self).await
    }

    async fn tenant_id(&mut self) -> wasmtime::Result<String> {
        <HostState as new::host_info::Host>::tenant_id(self).await
    }

    async fn site_id(&mut self) -> wasmtime::Result<String> {
        <HostState as new::host_info::Host>::site_id(self).await
    }

    async fn settings(&mut self) -> wasmtime::Result<Vec<old::types::Attribute>> {
        let s = <HostState as new::host_info::Host>::settings(self).await?;
        Ok(s.into_iter().map(old_attribute).collect())
    }
}
