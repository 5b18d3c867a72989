//! The HTTP resources, one file each: its handlers, its routes (method, path, access) and the
//! OpenAPI operation of each route, declared once next to the handler. The server's router and
//! its OpenAPI document are both built from [`ROUTES`].

pub mod admin;
pub mod audit;
pub mod districts;
pub mod forecast;
pub mod indicators;
pub mod ingest;
pub mod intake;
pub mod officer;
pub mod outreach;
pub mod pipeline;
pub mod provenance;
pub mod releases;
pub mod report;
pub mod scenario;
pub mod segregation;
pub mod site;
pub mod status;
pub mod tiles;
pub mod users;

use std::sync::LazyLock;

use Access::Public;
use axum::routing::MethodRouter;

use crate::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Signed-in officers and admins (and `haven ingest` handing a load to this server).
    Officer,
    /// Admins only.
    Admin,
    /// The region's routes (its intake): any signed-in user, a municipality's users too; the
    /// handler lets each act only for its own municipality.
    Tenant,
}

/// A route: method, path (axum syntax), who may call it, its handler and its OpenAPI
/// operation, declared once next to the handler. The router and the OpenAPI document are both
/// built from [`ROUTES`] alone.
#[derive(Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub(crate) handler: fn() -> MethodRouter<AppState>,
    pub(crate) operation: fn() -> serde_json::Value,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.access)
    }
}

impl Route {
    /// Reads whose answers depend only on the request and the data, kept in memory: the public
    /// ones, and the tiles (an officer's tile is any officer's; the guard checks access before
    /// the cache answers). Release files are immutable files already, served from disk.
    pub(crate) fn cacheable(&self) -> bool {
        self.method == "GET"
            && !self.path.starts_with("/api/v1/releases/")
            && (self.access == Public || self.path.starts_with("/tiles/"))
    }
}

pub(crate) const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: fn() -> MethodRouter<AppState>,
    operation: fn() -> serde_json::Value,
) -> Route {
    Route {
        method,
        path,
        access,
        handler,
        operation,
    }
}

/// Every route the server answers, resource by resource.
pub static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| {
    [
        site::ROUTES,
        status::ROUTES,
        indicators::ROUTES,
        districts::ROUTES,
        segregation::ROUTES,
        pipeline::ROUTES,
        scenario::ROUTES,
        forecast::ROUTES,
        provenance::ROUTES,
        report::ROUTES,
        releases::ROUTES,
        tiles::ROUTES,
        ingest::ROUTES,
        officer::ROUTES,
        outreach::ROUTES,
        users::ROUTES,
        audit::ROUTES,
        admin::ROUTES,
        intake::ROUTES,
    ]
    .concat()
});
