use rodeo_domain::Timestamp;
pub(crate) enum Unit { Count, Seconds, Ratio }
pub(crate) enum Style { Bars, Line, DashedLine }
pub(crate) struct Series { pub(crate) label: String, pub(crate) style: Style, pub(crate) values: Vec<Option<f64>> }
#[derive(Clone)]
pub(crate) enum MarkerKind { Deployment, Rollback, FailedDeployment, Incident }
#[derive(Clone)]
pub(crate) struct Marker { pub(crate) at: Timestamp, pub(crate) kind: MarkerKind, pub(crate) label: String, pub(crate) href: Option<String> }
pub(crate) struct Chart { pub(crate) title: String, pub(crate) unit: Unit, pub(crate) buckets: Vec<(Timestamp, Timestamp)>, pub(crate) series: Vec<Series>, pub(crate) markers: Vec<Marker> }
pub(crate) fn render(_chart: &Chart) -> String { String::new() }
pub(crate) fn sparkline(_values: &[Option<f64>], _label: &str) -> String { String::new() }
pub(crate) fn format_seconds(s: f64) -> String { format!("{s}s") }
