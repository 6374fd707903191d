//! Which database an endpoint name belongs to: the name's shape picks the
//! RDS call, and the address the API reports decides.
//!
//! RDS endpoint names have these shapes (`.rds.amazonaws.com`, and
//! `.rds.amazonaws.com.cn` in China; GovCloud uses the first):
//!
//! | name | what | looked up with |
//! | --- | --- | --- |
//! | `ID.HASH.REGION.rds.amazonaws.com` | a DB instance | `DescribeDBInstances` for `ID` |
//! | `ID.cluster-HASH.REGION...` | an Aurora cluster's writer | `DescribeDBClusters` for `ID` |
//! | `ID.cluster-ro-HASH.REGION...` | its reader endpoint | `DescribeDBClusters` for `ID` |
//! | `NAME.cluster-custom-HASH.REGION...` | a custom endpoint | every cluster's `CustomEndpoints` |
//! | `NAME.proxy-HASH.REGION...` | an RDS Proxy | `DescribeDBProxies` for `NAME` |
//! | `NAME.endpoint.proxy-HASH.REGION...` | a proxy's extra endpoint | `DescribeDBProxyEndpoints` for `NAME`, then its proxy |
//!
//! The address the API reports must equal the name given (ignoring case and
//! a final dot). When the call the shape picks finds nothing, or the name has
//! no RDS shape (a CNAME of the caller's own, say), every DB instance, Aurora
//! cluster (writer, reader and custom endpoints) and proxy of the region is
//! listed, page by page up to [`super::MAX_PAGES`] pages a kind, and for a
//! name of no RDS shape every proxy endpoint too.

use std::fmt;

use aws_sdk_rds::types::{DbCluster, DbInstance, DbProxy};

use super::{Api, ApiError, MAX_PAGES};
use crate::region;

/// What kind of endpoint a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    /// A DB instance's endpoint (also an Aurora cluster member's own).
    Instance,
    /// An Aurora cluster's writer (cluster) endpoint.
    ClusterWriter,
    /// An Aurora cluster's reader endpoint.
    ClusterReader,
    /// An Aurora cluster's custom endpoint.
    ClusterCustom,
    /// An RDS Proxy's default endpoint.
    Proxy,
    /// An RDS Proxy's extra endpoint.
    ProxyEndpoint,
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointKind::Instance => "DB instance",
            EndpointKind::ClusterWriter => "Aurora cluster writer endpoint",
            EndpointKind::ClusterReader => "Aurora cluster reader endpoint",
            EndpointKind::ClusterCustom => "Aurora cluster custom endpoint",
            EndpointKind::Proxy => "RDS Proxy endpoint",
            EndpointKind::ProxyEndpoint => "RDS Proxy extra endpoint",
        })
    }
}

/// What an RDS endpoint name says by its shape alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointName {
    /// The kind of endpoint the shape says.
    pub kind: EndpointKind,
    /// The first label: the instance or cluster identifier, the custom
    /// endpoint's, the proxy's or the proxy endpoint's name (lower case).
    pub name: String,
    /// The region in the name.
    pub region: String,
}

/// RDS endpoint domains.
const RDS_SUFFIXES: [&str; 2] = [".rds.amazonaws.com", ".rds.amazonaws.com.cn"];

/// The shape of an RDS endpoint name, or `None` for a name of no RDS shape.
///
/// # Example
/// ```
/// use rds_auth_token::aws_api::{parse_endpoint_name, EndpointKind};
/// let name = parse_endpoint_name("app.cluster-ro-abc123.eu-west-1.rds.amazonaws.com").unwrap();
/// assert_eq!((name.kind, name.name.as_str()), (EndpointKind::ClusterReader, "app"));
/// assert_eq!(parse_endpoint_name("db.example.com"), None);
/// ```
pub fn parse_endpoint_name(hostname: &str) -> Option<EndpointName> {
    let address = normalize(hostname);
    let rest = RDS_SUFFIXES
        .iter()
        .find_map(|suffix| address.strip_suffix(suffix))?;
    let labels: Vec<&str> = rest.split('.').collect();
    let (kind, name, region) = match labels.as_slice() {
        [name, "endpoint", hash, region] if hash.starts_with("proxy-") => {
            (EndpointKind::ProxyEndpoint, name, region)
        }
        [name, hash, region] => {
            let kind = if hash.starts_with("cluster-ro-") {
                EndpointKind::ClusterReader
            } else if hash.starts_with("cluster-custom-") {
                EndpointKind::ClusterCustom
            } else if hash.starts_with("cluster-") {
                EndpointKind::ClusterWriter
            } else if hash.starts_with("proxy-") {
                EndpointKind::Proxy
            } else {
                EndpointKind::Instance
            };
            (kind, name, region)
        }
        _ => return None,
    };
    (!name.is_empty() && region::is_region_name(region)).then(|| EndpointName {
        kind,
        name: (*name).to_owned(),
        region: (*region).to_owned(),
    })
}

/// A name as addresses are compared: lower case, without a final dot.
fn normalize(hostname: &str) -> String {
    let lower = hostname.to_ascii_lowercase();
    lower.strip_suffix('.').unwrap_or(&lower).to_owned()
}

/// True when the API's `address` is `wanted` (already normalized).
fn same_address(address: Option<&str>, wanted: &str) -> bool {
    address.is_some_and(|a| normalize(a) == wanted)
}

/// Whether IAM database authentication is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamAuth {
    /// `IAMDatabaseAuthenticationEnabled` is true (for an Aurora cluster
    /// member, the cluster's).
    Enabled,
    /// `IAMDatabaseAuthenticationEnabled` is false.
    Disabled,
    /// The API did not say.
    Unknown,
    /// A proxy's settings: each of its `Auth` entries' `IAMAuth`
    /// (`DISABLED`, `REQUIRED`, or for SQL Server `ENABLED`), and its
    /// `DefaultAuthScheme` (`IAM_AUTH` for end-to-end IAM authentication).
    Proxy {
        modes: Vec<String>,
        default_auth_scheme: Option<String>,
    },
}

impl IamAuth {
    /// Whether a client may log in with a token: `None` when unknown.
    pub fn is_enabled(&self) -> Option<bool> {
        match self {
            IamAuth::Enabled => Some(true),
            IamAuth::Disabled => Some(false),
            IamAuth::Unknown => None,
            IamAuth::Proxy {
                modes,
                default_auth_scheme,
            } => Some(
                modes.iter().any(|m| m == "REQUIRED" || m == "ENABLED")
                    || default_auth_scheme.as_deref() == Some("IAM_AUTH"),
            ),
        }
    }

    fn of(flag: Option<bool>) -> IamAuth {
        match flag {
            Some(true) => IamAuth::Enabled,
            Some(false) => IamAuth::Disabled,
            None => IamAuth::Unknown,
        }
    }
}

/// A database endpoint the RDS API knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbEndpoint {
    pub kind: EndpointKind,
    /// The address as the API reports it.
    pub address: String,
    /// The DB instance or cluster identifier, or the proxy's name.
    pub identifier: String,
    /// A custom endpoint's or a proxy endpoint's own name.
    pub endpoint_name: Option<String>,
    /// The id `rds-db:connect` is granted on: the instance's `DbiResourceId`,
    /// the Aurora cluster's `DbClusterResourceId` (for a cluster member's own
    /// endpoint too), or the proxy's `prx-` id from its ARN.
    pub resource_id: String,
    /// A cluster member's own `DbiResourceId`, which IAM does not use.
    pub instance_resource_id: Option<String>,
    /// The engine (`postgres`, `aurora-mysql`, ...) or a proxy's engine
    /// family (`POSTGRESQL`, `MYSQL`, `SQLSERVER`).
    pub engine: Option<String>,
    /// The port, when the API reports one (proxies do not).
    pub port: Option<u16>,
    pub iam_auth: IamAuth,
    /// The Aurora cluster an instance belongs to: IAM authentication is set
    /// on the cluster (`aws rds modify-db-cluster`).
    pub cluster: Option<String>,
}

/// The proxy's `prx-` id: the last part of its ARN
/// (`arn:aws:rds:REGION:ACCOUNT:db-proxy:prx-...`).
fn proxy_id(arn: Option<&str>) -> Option<String> {
    arn?.rsplit(':').next().map(str::to_owned)
}

fn port(port: Option<i32>) -> Option<u16> {
    port.and_then(|p| u16::try_from(p).ok())
}

impl Api {
    /// The database whose endpoint is `hostname`, `None` when no instance,
    /// cluster or proxy of the region has that address.
    ///
    /// # Errors
    /// An [`ApiError`]; [`ApiError::Denied`] names the `rds:Describe...`
    /// permission a call needs.
    pub async fn find_endpoint(&self, hostname: &str) -> Result<Option<DbEndpoint>, ApiError> {
        let address = normalize(hostname);
        let Some(name) = parse_endpoint_name(hostname) else {
            return self.search(&address, true).await;
        };
        let found = match name.kind {
            EndpointKind::Instance => self.instance(&name.name, &address).await?,
            EndpointKind::ClusterWriter | EndpointKind::ClusterReader => {
                self.cluster(&name.name, &address).await?
            }
            EndpointKind::ClusterCustom => None,
            EndpointKind::Proxy => self.proxy(&name.name, &address, None).await?,
            EndpointKind::ProxyEndpoint => self.proxy_endpoint(&name.name, &address).await?,
        };
        match found {
            Some(found) => Ok(Some(found)),
            None => self.search(&address, false).await,
        }
    }

    /// The instance `id`, when its address is `address`.
    async fn instance(&self, id: &str, address: &str) -> Result<Option<DbEndpoint>, ApiError> {
        let output = match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
            {
                return Ok(None)
            }
            Err(err) => return Err(self.error("rds:DescribeDBInstances", err)),
        };
        for db in output.db_instances() {
            if same_address(db.endpoint().and_then(|e| e.address()), address) {
                return self.instance_endpoint(db).await.map(Some);
            }
        }
        Ok(None)
    }

    /// The cluster `id`, when its writer or reader address is `address`.
    async fn cluster(&self, id: &str, address: &str) -> Result<Option<DbEndpoint>, ApiError> {
        let Some(cluster) = self.describe_cluster(id).await? else {
            return Ok(None);
        };
        Ok(from_cluster(&cluster, address))
    }

    /// The cluster `id`, `None` when there is none.
    async fn describe_cluster(&self, id: &str) -> Result<Option<DbCluster>, ApiError> {
        match self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(output) => Ok(output.db_clusters().first().cloned()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_db_cluster_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(err) => Err(self.error("rds:DescribeDBClusters", err)),
        }
    }

    /// The proxy `name`, when its address is `address` (or, for a proxy
    /// endpoint, `endpoint`'s is).
    async fn proxy(
        &self,
        name: &str,
        address: &str,
        endpoint: Option<&str>,
    ) -> Result<Option<DbEndpoint>, ApiError> {
        let output = match self
            .rds
            .describe_db_proxies()
            .db_proxy_name(name)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_db_proxy_not_found_fault()) =>
            {
                return Ok(None)
            }
            Err(err) => return Err(self.error("rds:DescribeDBProxies", err)),
        };
        for proxy in output.db_proxies() {
            if endpoint.is_some() || same_address(proxy.endpoint(), address) {
                return Ok(from_proxy(proxy, address, endpoint));
            }
        }
        Ok(None)
    }

    /// The proxy endpoint `name` and its proxy, when its address is `address`.
    async fn proxy_endpoint(
        &self,
        name: &str,
        address: &str,
    ) -> Result<Option<DbEndpoint>, ApiError> {
        let output = match self
            .rds
            .describe_db_proxy_endpoints()
            .db_proxy_endpoint_name(name)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    e.is_db_proxy_endpoint_not_found_fault() || e.is_db_proxy_not_found_fault()
                }) =>
            {
                return Ok(None)
            }
            Err(err) => return Err(self.error("rds:DescribeDBProxyEndpoints", err)),
        };
        for endpoint in output.db_proxy_endpoints() {
            if same_address(endpoint.endpoint(), address) {
                if let Some(proxy) = endpoint.db_proxy_name() {
                    return self
                        .proxy(proxy, address, endpoint.db_proxy_endpoint_name())
                        .await;
                }
            }
        }
        Ok(None)
    }

    /// Lists every instance, cluster and proxy (and, with
    /// `proxy_endpoints`, every proxy endpoint) for the one whose address
    /// is `address`, up to [`MAX_PAGES`] pages of each.
    ///
    /// # Errors
    /// [`ApiError::ListingCut`] when it is not found and a listing stopped
    /// with pages left.
    async fn search(
        &self,
        address: &str,
        proxy_endpoints: bool,
    ) -> Result<Option<DbEndpoint>, ApiError> {
        let mut cut = Vec::new();
        let mut pages = self.rds.describe_db_instances().into_paginator().send();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("rds:DescribeDBInstances", e))?;
            for db in page.db_instances() {
                if same_address(db.endpoint().and_then(|e| e.address()), address) {
                    return self.instance_endpoint(db).await.map(Some);
                }
            }
            read += 1;
            if read >= MAX_PAGES {
                if page.marker().is_some() {
                    cut.push("DescribeDBInstances");
                }
                break;
            }
        }
        let mut pages = self.rds.describe_db_clusters().into_paginator().send();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("rds:DescribeDBClusters", e))?;
            if let Some(found) = page
                .db_clusters()
                .iter()
                .find_map(|c| from_cluster(c, address))
            {
                return Ok(Some(found));
            }
            read += 1;
            if read >= MAX_PAGES {
                if page.marker().is_some() {
                    cut.push("DescribeDBClusters");
                }
                break;
            }
        }
        let mut pages = self.rds.describe_db_proxies().into_paginator().send();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("rds:DescribeDBProxies", e))?;
            if let Some(found) = page
                .db_proxies()
                .iter()
                .filter(|p| same_address(p.endpoint(), address))
                .find_map(|p| from_proxy(p, address, None))
            {
                return Ok(Some(found));
            }
            read += 1;
            if read >= MAX_PAGES {
                if page.marker().is_some() {
                    cut.push("DescribeDBProxies");
                }
                break;
            }
        }
        if proxy_endpoints {
            let mut pages = self
                .rds
                .describe_db_proxy_endpoints()
                .into_paginator()
                .send();
            let mut read = 0;
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| self.error("rds:DescribeDBProxyEndpoints", e))?;
                for endpoint in page.db_proxy_endpoints() {
                    if same_address(endpoint.endpoint(), address) {
                        if let Some(proxy) = endpoint.db_proxy_name() {
                            return self
                                .proxy(proxy, address, endpoint.db_proxy_endpoint_name())
                                .await;
                        }
                    }
                }
                read += 1;
                if read >= MAX_PAGES {
                    if page.marker().is_some() {
                        cut.push("DescribeDBProxyEndpoints");
                    }
                    break;
                }
            }
        }
        if cut.is_empty() {
            Ok(None)
        } else {
            Err(ApiError::ListingCut {
                operations: cut,
                pages: MAX_PAGES,
                unknown: "the endpoint was not in them, and the region has more databases than this tool lists",
            })
        }
    }

    /// An instance as an endpoint; a cluster member takes its cluster's
    /// resource id and IAM setting.
    async fn instance_endpoint(&self, db: &DbInstance) -> Result<DbEndpoint, ApiError> {
        let own_id = db.dbi_resource_id().unwrap_or_default().to_owned();
        let mut endpoint = DbEndpoint {
            kind: EndpointKind::Instance,
            address: db
                .endpoint()
                .and_then(|e| e.address())
                .unwrap_or_default()
                .to_owned(),
            identifier: db.db_instance_identifier().unwrap_or_default().to_owned(),
            endpoint_name: None,
            resource_id: own_id.clone(),
            instance_resource_id: None,
            engine: db.engine().map(str::to_owned),
            port: port(db.endpoint().and_then(|e| e.port())),
            iam_auth: IamAuth::of(db.iam_database_authentication_enabled()),
            cluster: None,
        };
        if let Some(cluster_id) = db.db_cluster_identifier() {
            endpoint.cluster = Some(cluster_id.to_owned());
            if let Some(cluster) = self.describe_cluster(cluster_id).await? {
                if let Some(id) = cluster.db_cluster_resource_id() {
                    endpoint.resource_id = id.to_owned();
                    endpoint.instance_resource_id = Some(own_id);
                }
                if let Some(flag) = cluster.iam_database_authentication_enabled() {
                    endpoint.iam_auth = IamAuth::of(Some(flag));
                }
            }
        }
        Ok(endpoint)
    }
}

/// The cluster as the endpoint at `address`: its writer, reader or one of
/// its custom endpoints; `None` when it has no such address.
fn from_cluster(cluster: &DbCluster, address: &str) -> Option<DbEndpoint> {
    let (kind, endpoint_name) = if same_address(cluster.endpoint(), address) {
        (EndpointKind::ClusterWriter, None)
    } else if same_address(cluster.reader_endpoint(), address) {
        (EndpointKind::ClusterReader, None)
    } else if cluster
        .custom_endpoints()
        .iter()
        .any(|e| same_address(Some(e), address))
    {
        (
            EndpointKind::ClusterCustom,
            address.split('.').next().map(str::to_owned),
        )
    } else {
        return None;
    };
    let identifier = cluster
        .db_cluster_identifier()
        .unwrap_or_default()
        .to_owned();
    Some(DbEndpoint {
        kind,
        address: address.to_owned(),
        identifier: identifier.clone(),
        endpoint_name,
        resource_id: cluster
            .db_cluster_resource_id()
            .unwrap_or_default()
            .to_owned(),
        instance_resource_id: None,
        engine: cluster.engine().map(str::to_owned),
        port: port(cluster.port()),
        iam_auth: IamAuth::of(cluster.iam_database_authentication_enabled()),
        cluster: Some(identifier),
    })
}

/// The proxy as the endpoint at `address` (its own, or its extra endpoint
/// `endpoint`).
fn from_proxy(proxy: &DbProxy, address: &str, endpoint: Option<&str>) -> Option<DbEndpoint> {
    Some(DbEndpoint {
        kind: if endpoint.is_some() {
            EndpointKind::ProxyEndpoint
        } else {
            EndpointKind::Proxy
        },
        address: address.to_owned(),
        identifier: proxy.db_proxy_name().unwrap_or_default().to_owned(),
        endpoint_name: endpoint.map(str::to_owned),
        resource_id: proxy_id(proxy.db_proxy_arn())?,
        instance_resource_id: None,
        engine: proxy.engine_family().map(str::to_owned),
        port: None,
        iam_auth: IamAuth::Proxy {
            modes: proxy
                .auth()
                .iter()
                .filter_map(|a| a.iam_auth().map(|m| m.as_str().to_owned()))
                .collect(),
            default_auth_scheme: proxy.default_auth_scheme().map(str::to_owned),
        },
        cluster: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn shape(hostname: &str) -> Option<(EndpointKind, String, String)> {
        parse_endpoint_name(hostname).map(|n| (n.kind, n.name, n.region))
    }

    #[test]
    fn tells_each_kind_of_rds_endpoint_by_its_name() {
        use EndpointKind::*;
        for (host, kind, name, region) in [
            (
                "mydb.abc123xyz.us-east-1.rds.amazonaws.com",
                Instance,
                "mydb",
                "us-east-1",
            ),
            (
                "app.cluster-abc.eu-west-1.rds.amazonaws.com",
                ClusterWriter,
                "app",
                "eu-west-1",
            ),
            (
                "app.cluster-ro-abc.eu-west-1.rds.amazonaws.com",
                ClusterReader,
                "app",
                "eu-west-1",
            ),
            (
                "rep.cluster-custom-abc.eu-west-1.rds.amazonaws.com",
                ClusterCustom,
                "rep",
                "eu-west-1",
            ),
            (
                "px.proxy-abc.us-gov-west-1.rds.amazonaws.com",
                Proxy,
                "px",
                "us-gov-west-1",
            ),
            (
                "ro.endpoint.proxy-abc.us-west-2.rds.amazonaws.com",
                ProxyEndpoint,
                "ro",
                "us-west-2",
            ),
            (
                "MyDB.ABC.CN-NORTH-1.RDS.AMAZONAWS.COM.CN.",
                Instance,
                "mydb",
                "cn-north-1",
            ),
        ] {
            assert_eq!(
                shape(host),
                Some((kind, name.to_owned(), region.to_owned())),
                "{host}"
            );
        }
    }

    #[test]
    fn finds_no_rds_shape_in_other_names() {
        for host in [
            "db.example.com",
            "10.0.0.5",
            "abc.us-east-1.rds.amazonaws.com",
            "a.b.c.us-east-1.rds.amazonaws.com",
            "mydb.abc.not-a-region.rds.amazonaws.com",
            "mydb.abc.us-east-1.rds.amazonaws.com.evil.example",
            "app.global-abc.global.rds.amazonaws.com",
        ] {
            assert_eq!(shape(host), None, "{host}");
        }
    }

    #[test]
    fn takes_a_proxy_id_from_its_arn() {
        assert_eq!(
            proxy_id(Some(
                "arn:aws:rds:us-east-1:123456789012:db-proxy:prx-0123456789abcdef0"
            )),
            Some("prx-0123456789abcdef0".to_owned())
        );
        assert_eq!(proxy_id(None), None);
    }

    #[test]
    fn says_whether_a_proxy_takes_tokens() {
        let proxy = |modes: &[&str], scheme: Option<&str>| IamAuth::Proxy {
            modes: modes.iter().map(|m| m.to_string()).collect(),
            default_auth_scheme: scheme.map(str::to_owned),
        };
        assert_eq!(
            proxy(&["DISABLED", "REQUIRED"], None).is_enabled(),
            Some(true)
        );
        assert_eq!(proxy(&["DISABLED"], None).is_enabled(), Some(false));
        assert_eq!(proxy(&[], Some("IAM_AUTH")).is_enabled(), Some(true));
        assert_eq!(IamAuth::Unknown.is_enabled(), None);
    }

    #[test]
    fn compares_addresses_without_case_or_a_final_dot() {
        assert!(same_address(
            Some("MyDB.abc.us-east-1.rds.amazonaws.com."),
            "mydb.abc.us-east-1.rds.amazonaws.com"
        ));
        assert!(!same_address(
            Some("mydb2.abc.us-east-1.rds.amazonaws.com"),
            "mydb.abc.us-east-1.rds.amazonaws.com"
        ));
        assert!(!same_address(None, "x"));
    }
}
