//! The route table: the one list of every (method, path) this crate serves.
//!
//! [`crate::configure`] registers exactly the entries of [`ROUTES`] (and
//! nothing else besides the `not_found`/`method_not_allowed` fallbacks), and
//! the tests compare the same table with the OpenAPI document of
//! [`crate::openapi`], both ways. To add a route, add it here **and** give its
//! handler a `#[utoipa::path]` listed in [`crate::openapi::ApiDoc`]; the tests
//! fail when one of the two is missing.

use std::fmt;

use actix_web::web;

use crate::handlers;

/// An HTTP method a route is served at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
}

impl Method {
    /// The method's name, e.g. `GET`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }

    /// The actix-web method.
    pub fn to_http(self) -> actix_web::http::Method {
        match self {
            Method::Get => actix_web::http::Method::GET,
            Method::Post => actix_web::http::Method::POST,
            Method::Put => actix_web::http::Method::PUT,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One route: a method and a path pattern (actix syntax, `{param}`, which is
/// also OpenAPI's), whether it needs a bearer token, and its handler.
#[derive(Clone, Copy)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path pattern, e.g. `/api/v1/minigroups/{minigroup_id}`.
    pub path: &'static str,
    /// Whether the route requires `Authorization: Bearer <JWT>`.
    pub authenticated: bool,
    /// The handler, as an actix route without a method guard.
    handler: fn() -> actix_web::Route,
}

impl Route {
    /// The actix route: the handler guarded by the method.
    pub(crate) fn to_actix(self) -> actix_web::Route {
        (self.handler)().method(self.method.to_http())
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

/// The path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The path of the metrics route, which the **app** serves (registered on
/// the `App` before [`crate::configure`]) and the OpenAPI document describes.
pub const METRICS_PATH: &str = "/metrics";

/// Routes the OpenAPI document describes that this crate does not serve:
/// the app registers them itself.
pub const APP_ROUTES: &[(Method, &str)] = &[(Method::Get, METRICS_PATH)];

/// Every route [`crate::configure`] registers, in registration order. Paths
/// that take several methods list them in the order of their `Allow` header.
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::Get,
        path: "/healthz",
        authenticated: false,
        handler: || web::to(handlers::healthz),
    },
    Route {
        method: Method::Get,
        path: "/readyz",
        authenticated: false,
        handler: || web::to(handlers::readyz),
    },
    Route {
        method: Method::Get,
        path: OPENAPI_PATH,
        authenticated: false,
        handler: || web::to(handlers::openapi),
    },
    Route {
        method: Method::Post,
        path: "/api/v1/minigroups",
        authenticated: true,
        handler: || web::to(handlers::create),
    },
    Route {
        method: Method::Get,
        path: "/api/v1/minigroups/{minigroup_id}",
        authenticated: true,
        handler: || web::to(handlers::read_by_id),
    },
    Route {
        method: Method::Put,
        path: "/api/v1/minigroups/{minigroup_id}",
        authenticated: true,
        handler: || web::to(handlers::update_by_id),
    },
    Route {
        method: Method::Post,
        path: "/api/v1/minigroups/{minigroup_id}/events",
        authenticated: true,
        handler: || web::to(handlers::create_event),
    },
    Route {
        method: Method::Post,
        path: "/api/v1/minigroups/{minigroup_id}/recreate",
        authenticated: true,
        handler: || web::to(handlers::recreate),
    },
    Route {
        method: Method::Get,
        path: "/api/v1/minigroups/{minigroup_id}/download",
        authenticated: true,
        handler: || web::to(handlers::download),
    },
    Route {
        method: Method::Get,
        path: "/api/v1/audiences/{audience}/minigroups/{scope}",
        authenticated: true,
        handler: || web::to(handlers::read_by_scope),
    },
    Route {
        method: Method::Put,
        path: "/api/v1/audiences/{audience}/minigroups/{scope}",
        authenticated: true,
        handler: || web::to(handlers::update_by_scope),
    },
];

/// [`ROUTES`] grouped by path, in first-appearance order: each path with its
/// routes and its `Allow` value (`GET, PUT`).
pub(crate) fn resources() -> Vec<(&'static str, Vec<Route>, String)> {
    let mut out: Vec<(&'static str, Vec<Route>, String)> = Vec::new();
    for route in ROUTES {
        match out.iter_mut().find(|(path, _, _)| *path == route.path) {
            Some((_, routes, allow)) => {
                routes.push(*route);
                allow.push_str(", ");
                allow.push_str(route.method.as_str());
            }
            None => out.push((route.path, vec![*route], route.method.as_str().to_owned())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_keep_the_order_and_list_the_allowed_methods() {
        let r = resources();
        let by_id = r
            .iter()
            .find(|(p, _, _)| *p == "/api/v1/minigroups/{minigroup_id}")
            .map(|(_, _, allow)| allow.as_str());
        assert_eq!(by_id, Some("GET, PUT"));
        assert_eq!(r[0].0, "/healthz");
        assert_eq!(
            r.iter().map(|(_, routes, _)| routes.len()).sum::<usize>(),
            ROUTES.len()
        );
    }

    #[test]
    fn no_route_is_listed_twice() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    (a.method, a.path) != (b.method, b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}
