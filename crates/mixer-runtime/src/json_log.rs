//! The `--log-format json` line format: one flat JSON object per event.
//!
//! tracing-subscriber's own JSON format nests the fields of the enclosing
//! spans under `span`, so a collector would have to know which span contains
//! `client.addr`. This format merges them into the top level instead.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Writes `timestamp`, `level` and `message` first, then the fields of
/// every enclosing span from the outermost in, then the event's own fields.
/// A later field of the same name replaces an earlier one.
///
/// Span fields are read from what the field formatter stored, so the
/// subscriber must format fields with `JsonFields`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut event_fields = Map::new();
        event.record(&mut JsonVisitor(&mut event_fields));

        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(timestamp));
        line.insert(
            "level".into(),
            Value::String(event.metadata().level().to_string()),
        );
        if let Some(message) = event_fields.shift_remove("message") {
            line.insert("message".into(), message);
        }

        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(stored) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(stored) {
                    line.extend(fields);
                }
            }
        }
        line.extend(event_fields);

        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Collects an event's fields as JSON values, keeping numbers and booleans
/// as such.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn span_and_event_fields_are_top_level() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .finish();

        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("conn", client.addr = "127.0.0.1:5000", route = "a");
            let _entered = span.enter();
            tracing::warn!(
                reason = "unknown_ca",
                bytes = 42u64,
                ok = false,
                "connection rejected"
            );
        });

        let output = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 1, "{output}");
        let line: Map<String, Value> = serde_json::from_str(lines[0]).unwrap();
        let keys: Vec<&str> = line.keys().map(String::as_str).collect();
        assert_eq!(&keys[..3], ["timestamp", "level", "message"]);
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "connection rejected");
        assert_eq!(line["client.addr"], "127.0.0.1:5000");
        assert_eq!(line["route"], "a");
        assert_eq!(line["reason"], "unknown_ca");
        assert_eq!(line["bytes"], 42);
        assert_eq!(line["ok"], false);
        assert!(!line.contains_key("span"), "{output}");
    }
}
