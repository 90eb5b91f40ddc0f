//! The server's own metrics for Prometheus (`GET /metrics`, OpenMetrics
//! text): HTTP requests by route and status and their durations, device
//! events ingested by kind (and redeliveries), how late events arrive
//! (ingest lag), the event writer's queue depth, transaction sizes and
//! refusals (malformed, invalid, throttled, busy), MQTT messages by channel,
//! the device directory's size and fill, and rollouts by state. Counters are updated where things happen; gauges that describe
//! stored state are read when scraped.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's pattern (`/api/v1/devices/{reference}`), never the
    /// path itself, so the label stays bounded.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: &'static str,
}

/// Every metric, registered once per process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histogram,
    events: Family<KindLabel, Counter>,
    duplicates: Counter,
    ingest_lag_seconds: Histogram,
    directory_devices: Gauge,
    directory_filled: Gauge,
    rollouts: Family<StateLabel, Gauge>,
    ingest_refused: Family<ReasonLabel, Counter>,
    ingest_queue_depth: Gauge,
    ingest_transaction_events: Histogram,
    mqtt_messages: Family<ChannelLabel, Counter>,
    /// One scrape at a time: [`Metrics::render`] refills shared gauges.
    render_lock: std::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("wavecast");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        // 100 µs to about 52 s.
        let request_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 20));
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            request_seconds.clone(),
        );
        let events = Family::<KindLabel, Counter>::default();
        registry.register(
            "device_events",
            "Health reports and faults stored from boxes",
            events.clone(),
        );
        let duplicates = Counter::default();
        registry.register(
            "device_events_duplicate",
            "Events boxes delivered again, not stored twice",
            duplicates.clone(),
        );
        // 1 s to about 12 days: boxes deliver what waited offline too.
        let ingest_lag_seconds = Histogram::new(exponential_buckets(1.0, 4.0, 10));
        registry.register(
            "ingest_lag_seconds",
            "From an event on the box to its storage on the server",
            ingest_lag_seconds.clone(),
        );
        let directory_devices = Gauge::default();
        registry.register(
            "directory_devices",
            "Accepted boxes in this instance's device directory",
            directory_devices.clone(),
        );
        let directory_filled = Gauge::default();
        registry.register(
            "directory_filled",
            "1 once the device directory has been filled from the database",
            directory_filled.clone(),
        );
        let rollouts = Family::<StateLabel, Gauge>::default();
        registry.register("rollouts", "Rollouts by state", rollouts.clone());
        let ingest_refused = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "ingest_refused",
            "Event batches not stored: malformed, invalid, throttled (a box over its rate) or busy (queue full)",
            ingest_refused.clone(),
        );
        let ingest_queue_depth = Gauge::default();
        registry.register(
            "ingest_queue_depth",
            "Event batches waiting for the writer",
            ingest_queue_depth.clone(),
        );
        // 1 to about 16k events.
        let ingest_transaction_events = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        registry.register(
            "ingest_transaction_events",
            "Events written per transaction by the event writer",
            ingest_transaction_events.clone(),
        );
        let mqtt_messages = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "mqtt_messages",
            "Messages received from boxes over MQTT, by channel",
            mqtt_messages.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            events,
            duplicates,
            ingest_lag_seconds,
            directory_devices,
            directory_filled,
            rollouts,
            ingest_refused,
            ingest_queue_depth,
            ingest_transaction_events,
            mqtt_messages,
            render_lock: std::sync::Mutex::new(()),
        }
    }

    /// Counts stored events (`kind`: health or fault) and redeliveries, and
    /// how long after `at` (box time, Unix seconds) each arrived.
    pub fn events_stored(&self, stored: &[(&'static str, i64)], duplicates: u64, now: i64) {
        for (kind, at) in stored {
            self.events.get_or_create(&KindLabel { kind }).inc();
            // A box clock ahead of the server's counts as no lag.
            #[allow(clippy::cast_precision_loss)]
            self.ingest_lag_seconds
                .observe(now.saturating_sub(*at).max(0) as f64);
        }
        self.duplicates.inc_by(duplicates);
    }

    /// Counts a batch not stored, by why.
    pub fn ingest_refused(&self, reason: &'static str) {
        self.ingest_refused
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// The writer's queue after it took a transaction's worth.
    pub fn ingest_queue_depth(&self, n: usize) {
        self.ingest_queue_depth
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A transaction of the event writer committed with `events` events.
    pub fn ingest_transaction(&self, events: usize) {
        #[allow(clippy::cast_precision_loss)]
        self.ingest_transaction_events.observe(events as f64);
    }

    /// A message arrived from a box on `channel`.
    pub fn mqtt_message(&self, channel: &'static str) {
        self.mqtt_messages
            .get_or_create(&ChannelLabel { channel })
            .inc();
    }

    /// Counts one answered HTTP request: `route` is the route's pattern,
    /// never the raw path, so the label stays bounded.
    pub fn request(&self, method: String, route: String, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        self.request_seconds.observe(seconds);
    }

    /// The text exposition, with the gauges of stored state as given.
    pub fn render(
        &self,
        directory: (usize, bool),
        rollouts: &[(String, i64)],
    ) -> Result<String, std::fmt::Error> {
        let _one = self
            .render_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.directory_devices
            .set(i64::try_from(directory.0).unwrap_or(i64::MAX));
        self.directory_filled.set(i64::from(directory.1));
        self.rollouts.clear();
        for (state, n) in rollouts {
            self.rollouts
                .get_or_create(&StateLabel {
                    state: state.clone(),
                })
                .set(*n);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_what_happened() {
        let m = Metrics::new();
        m.events_stored(
            &[("health", 990), ("fault", 1000), ("health", 1000)],
            2,
            1000,
        );
        let text = m
            .render((42, true), &[("running".into(), 3), ("paused".into(), 1)])
            .expect("renders");
        for line in [
            "wavecast_device_events_total{kind=\"health\"} 2",
            "wavecast_device_events_total{kind=\"fault\"} 1",
            "wavecast_device_events_duplicate_total 2",
            "wavecast_ingest_lag_seconds_count 3",
            "wavecast_directory_devices 42",
            "wavecast_directory_filled 1",
            "wavecast_rollouts{state=\"running\"} 3",
            "wavecast_rollouts{state=\"paused\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        // A state that no longer has rollouts is gone at the next scrape.
        let text = m
            .render((42, true), &[("running".into(), 2)])
            .expect("renders");
        assert!(!text.contains("paused"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn any_box_clock_is_counted_without_overflow() {
        let m = Metrics::new();
        m.events_stored(&[("fault", i64::MIN), ("fault", i64::MAX)], 0, 1000);
        let text = m.render((0, false), &[]).expect("renders");
        assert!(
            text.contains("wavecast_ingest_lag_seconds_count 2"),
            "{text}"
        );
        // The box ahead of the server: no lag, the first bucket.
        assert!(
            text.contains("wavecast_ingest_lag_seconds_bucket{le=\"1.0\"} 1"),
            "{text}"
        );
    }
}
