//! The per-attempt, per-pod and per-decision files of a run (`api_calls.csv`, `pods.csv`, `trace.csv`),
//! written as the run goes: the world's [`RecordSink`] is this module's [`Streams`], each row written through a
//! buffered CSV writer when its record is final, and nothing kept once written.
//!
//! Each file grows under its temporary name (`.NAME.partial`, as [`folder::write_atomic`] names it) and is
//! renamed only when the run is complete ([`Streams::finish`], then [`Stream::publish`]); a run that stalls,
//! fails or stops writing drops its `Streams`, which removes the temporary files, so a final name never holds
//! a partial file.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::files::{self, Names};
use super::row::Row;
use crate::folder::{self, FileError};
use crate::scenarios::Scenario;
use crate::sim::ec2::InstanceId;
use crate::sim::ec2::record::AttemptRecord;
use crate::sim::kube::cluster::ClientOwner;
use crate::sim::kube::pods::{Pod, PodId};
use crate::sim::kube::trace::LogLine;
use crate::sim::sink::{RecordSink, TraceSource};
use crate::sim::world::World;

/// Bytes each file buffers before a write.
const BUFFER: usize = 1 << 16;

/// One file being written under its temporary name.
pub(super) struct Stream {
    path: PathBuf,
    partial: PathBuf,
    /// `None` once renamed (or given up).
    writer: Option<csv::Writer<File>>,
}

impl Stream {
    fn create(path: PathBuf, header: &[&str]) -> Result<Stream, FileError> {
        let partial = folder::partial_name(&path);
        let file = File::create(&partial).map_err(FileError::at(&path))?;
        let mut stream = Stream {
            path,
            partial,
            writer: Some(
                csv::WriterBuilder::new()
                    .buffer_capacity(BUFFER)
                    .from_writer(file),
            ),
        };
        stream.write(header).map_err(FileError::at(&stream.path))?;
        Ok(stream)
    }

    fn write<I, T>(&mut self, row: I) -> io::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let w = self.writer.as_mut().expect("a stream not yet finished");
        w.write_record(row).map_err(io::Error::from)
    }

    /// Flushes the file and has it on disk, still under its temporary name.
    fn flush(&mut self) -> Result<(), FileError> {
        let w = self.writer.as_mut().expect("a stream not yet finished");
        w.flush()
            .and_then(|()| w.get_ref().sync_all())
            .map_err(FileError::at(&self.path))
    }

    /// Gives the file its final name.
    pub(super) fn publish(mut self) -> Result<PathBuf, FileError> {
        fs::rename(&self.partial, &self.path).map_err(FileError::at(&self.path))?;
        self.writer = None;
        Ok(std::mem::take(&mut self.path))
    }
}

impl Drop for Stream {
    /// A file never renamed is removed: it is not a result.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            // Best effort: an error that matters has already been reported.
            let _ = fs::remove_file(&self.partial);
        }
    }
}

/// The streamed files of one run, and the first error writing them (after which nothing more is written).
pub(super) struct Streams {
    names: Names,
    api_calls: Stream,
    pods: Stream,
    trace: Option<Stream>,
    error: Option<FileError>,
    /// The row being written, its buffers kept from row to row.
    row: Row,
}

/// One of the streamed files.
#[derive(Clone, Copy)]
enum Which {
    ApiCalls,
    Pods,
    Trace,
}

impl Streams {
    /// Starts `api_calls.csv`, `pods.csv` and, for a traced run, `trace.csv` in `dir` under their temporary
    /// names.
    pub(super) fn create(
        dir: &Path,
        scenario: &Scenario,
        trace: bool,
    ) -> Result<Streams, FileError> {
        let api_calls = Stream::create(dir.join("api_calls.csv"), &files::API_CALL_COLUMNS)?;
        let pods = Stream::create(dir.join("pods.csv"), &files::POD_COLUMNS)?;
        let trace = trace
            .then(|| Stream::create(dir.join("trace.csv"), &files::TRACE_COLUMNS))
            .transpose()?;
        Ok(Streams {
            names: Names::of(scenario),
            api_calls,
            pods,
            trace,
            error: None,
            row: Row::default(),
        })
    }

    /// Writes the row made in `self.row` to file `which` unless an earlier write failed.
    fn write_row(&mut self, which: Which) {
        if self.error.is_some() {
            return;
        }
        let stream = match which {
            Which::ApiCalls => &mut self.api_calls,
            Which::Pods => &mut self.pods,
            Which::Trace => self.trace.as_mut().expect("a traced run"),
        };
        if let Err(e) = stream.write(self.row.fields()) {
            self.error = Some(FileError::at(&stream.path)(e));
        }
    }

    /// Ends the run's files: the rows of the pods still alive (in creation order) after those finished with,
    /// then every file flushed to disk, still under its temporary name.
    pub(super) fn finish(mut self, world: &World) -> Result<Finished, FileError> {
        let cluster = &world.cluster;
        for (id, pod) in cluster.pods.live() {
            let instance = pod.node.map(|n| cluster.nodes[n as usize].instance);
            self.pod(id, pod, instance);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.api_calls.flush()?;
        self.pods.flush()?;
        if let Some(t) = self.trace.as_mut() {
            t.flush()?;
        }
        Ok(Finished {
            api_calls: self.api_calls,
            pods: self.pods,
            trace: self.trace,
        })
    }
}

/// The streamed files, complete on disk under their temporary names, each renamed by [`Stream::publish`];
/// those not renamed are removed when dropped.
pub(super) struct Finished {
    pub api_calls: Stream,
    pub pods: Stream,
    pub trace: Option<Stream>,
}

impl RecordSink for Streams {
    fn attempt(&mut self, attempt: &AttemptRecord, caller: ClientOwner) {
        files::api_call_row(&self.names, attempt, caller, &mut self.row);
        self.write_row(Which::ApiCalls);
    }

    fn pod(&mut self, id: PodId, pod: &Pod, instance: Option<InstanceId>) {
        files::pod_row(&self.names, id, pod, instance, &mut self.row);
        self.write_row(Which::Pods);
    }

    fn trace(&mut self, source: TraceSource, line: &LogLine) {
        files::trace_row(source, line, &mut self.row);
        self.write_row(Which::Trace);
    }
}
