"""SummaryWriter (torch.utils.tensorboard.SummaryWriter): logs scalars, histograms,
images, text, hyperparameters, PR curves and embeddings into TensorBoard event files.

The files are written by ember itself (TFRecord framing in `_record`, protobuf encoding
in `_proto`), so neither tensorboard nor protobuf is needed to write them, only to view.

Unlike torch's writer, which hands records to a background thread, ember queues the
framed records in memory and writes them itself, whole records in one ``write`` call of
an unbuffered file. Records reach the file on ``flush()``/``close()``, once ``max_queue``
are queued, at the first record ``flush_secs`` after the last write, and when the
process exits; there is no timer thread, so an idle writer keeps its last records until
then. A process forked from the writer's (a DataLoader worker) never writes them.
"""
import itertools
import os
import socket
import threading
import time
import weakref

from . import _embedding
from . import _proto as pb
from . import summary as _summary
from ._record import frame

__all__ = ["FileWriter", "SummaryWriter"]

# the n in events.out.tfevents.<time>.<host>.<pid>.<n>: one counter for the process
_file_counter = itertools.count()
_file_counter_lock = threading.Lock()


class FileWriter:
    """One event file in ``log_dir``: named ``events.out.tfevents.<time>.<host>.<pid>.<n>``
    plus ``filename_suffix``, beginning with the ``brain.Event:2`` file-version event."""

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        log_dir = str(log_dir)
        os.makedirs(log_dir, exist_ok=True)
        with _file_counter_lock:
            n = next(_file_counter)
        name = "events.out.tfevents.%010d.%s.%s.%s" % (
            time.time(), socket.gethostname(), os.getpid(), n)
        self._log_dir = log_dir
        self._path = os.path.join(log_dir, name) + filename_suffix
        # unbuffered: the queue below is the only buffer, so a forked child holds no copy
        # of unwritten bytes that its exit could write a second time
        self._file = open(self._path, "wb", buffering=0)
        self._queue = []
        self._lock = threading.Lock()
        self._max_queue = max_queue
        self._flush_secs = flush_secs
        self._last_write = time.time()
        # the process whose queue this is (a list, shared with the finalizer): records
        # queued before a fork are the parent's to write
        self._owner = [os.getpid()]
        # at exit (or when forgotten) the queue is still written, by its owner only
        self._finalizer = weakref.finalize(self, _write_and_close, self._file, self._queue,
                                           self._owner)
        self.add_event(pb.event(wall_time=time.time(), file_version="brain.Event:2",
                                source_writer="ember.utils.tensorboard"))
        self.flush()

    def get_logdir(self):
        """The directory this writer's event file is in."""
        return self._log_dir

    @property
    def path(self):
        return self._path

    def add_event(self, encoded_event):
        """Queue one encoded Event as a TFRecord; write the queue when it is full or
        ``flush_secs`` have passed."""
        record = frame(encoded_event)
        with self._lock:
            self._adopt_after_fork()
            if self._file.closed:
                raise OSError("Writer is closed")
            self._queue.append(record)
            if (len(self._queue) >= self._max_queue
                    or time.time() - self._last_write >= self._flush_secs):
                self._write_queue()

    def add_summary(self, encoded_summary, global_step=None, walltime=None):
        """Wrap an encoded Summary in an Event stamped with ``walltime`` (default now)
        and ``global_step`` (default none, read as 0)."""
        wall_time = time.time() if walltime is None else walltime
        step = 0 if global_step is None else int(global_step)
        self.add_event(pb.event(wall_time=wall_time, step=step, summary=encoded_summary))

    def _adopt_after_fork(self):
        if os.getpid() != self._owner[0]:
            self._queue.clear()
            self._owner[0] = os.getpid()

    def _write_queue(self):
        self._adopt_after_fork()
        _write_all(self._file, self._queue)
        self._last_write = time.time()

    def flush(self):
        """Write every queued record to the file."""
        with self._lock:
            if not self._file.closed:
                self._write_queue()

    def close(self):
        """Write the queue and close the file; closing again does nothing."""
        with self._lock:
            if not self._file.closed:
                self._write_queue()
            self._finalizer()


def _write_all(file, queue):
    """Write the queued records (whole, in order) and empty the queue."""
    data = memoryview(b"".join(queue))
    queue.clear()
    while data:
        written = file.write(data)
        data = data[written:]


def _write_and_close(file, queue, owner):
    if os.getpid() == owner[0] and not file.closed:
        _write_all(file, queue)
        file.close()


class SummaryWriter:
    """Writes summaries for TensorBoard into event files under ``log_dir``.

    Args:
        log_dir: the directory; default ``runs/<Mon>DD_HH-MM-SS_<hostname><comment>``.
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: after a crash at step T+X and a restart at step T, events at steps
            >= T are hidden by TensorBoard (a SessionLog START event at ``purge_step``).
        max_queue: records queued in memory before they are written to the file.
        flush_secs: seconds after the last write at which the next record writes the
            queue.
        filename_suffix: appended to every event file's name.

    Example::

        writer = SummaryWriter("runs/exp1")
        for step in range(100):
            writer.add_scalar("loss", loss, step)
        writer.close()
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=""):
        if not log_dir:
            from datetime import datetime
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        # the writers are created again on use after close(), as torch's are
        self.file_writer = self.all_writers = None
        self._projector_entries = []    # add_embedding's config, rewritten whole each time
        self._get_file_writer()

    @property
    def default_bins(self):
        """The "tensorflow" histogram bin edges."""
        return _summary.tensorflow_bins()

    def _get_file_writer(self):
        """The writer of the main event file, opened anew if the writer was closed."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step = self.purge_step
                self.file_writer.add_event(pb.event(wall_time=time.time(), step=step,
                                                    file_version="brain.Event:2"))
                self.file_writer.add_event(pb.event(
                    wall_time=time.time(), step=step,
                    session_log=pb.session_log(pb.SESSION_START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        """The directory event files are written to."""
        return self.log_dir

    # ------------------------------------------------------------------------- scalars

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None,
                   new_style=False, double_precision=False):
        """Log one number (a Python/NumPy number or a one-element tensor) under ``tag``.

        ``new_style`` stores it as a tensor of the scalars plugin (float32, or float64
        with ``double_precision``) instead of a float32 ``simple_value``."""
        encoded = _summary.scalar(tag, scalar_value, new_style=new_style,
                                  double_precision=double_precision)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Log several numbers into one chart: each key of ``tag_scalar_dict`` gets its own
        run, a writer in ``<log_dir>/<main_tag with / as _>_<key>``, logging ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        logdir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            sub_dir = logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(sub_dir)
            if writer is None:
                writer = FileWriter(sub_dir, self.max_queue, self.flush_secs,
                                    self.filename_suffix)
                self.all_writers[sub_dir] = writer
            writer.add_summary(_summary.scalar(main_tag, value), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        """Log a whole tensor, element by element (the "tensor" plugin)."""
        self._get_file_writer().add_summary(_summary.tensor_proto(tag, tensor),
                                            global_step, walltime)

    # ------------------------------------------------------------------------- histograms

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow",
                      walltime=None, max_bins=None):
        """Log the histogram of ``values`` (any shape). ``bins`` is "tensorflow"
        (TensorFlow's exponential edges, the default) or anything ``numpy.histogram``
        accepts ("auto", "fd", a count, edges); ``max_bins`` merges adjacent buckets."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = _summary.tensorflow_bins()
        encoded = _summary.histogram(tag, values, bins, max_bins=max_bins)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None):
        """Log a histogram given by its statistics and its buckets (right edges, counts)."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        encoded = _summary.histogram_raw(tag, min, max, num, sum, sum_squares,
                                         bucket_limits, bucket_counts)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    # ------------------------------------------------------------------------- images

    def add_image(self, tag, img_tensor, global_step=None, walltime=None,
                  dataformats="CHW"):
        """Log an image, (3, H, W) by default; ``dataformats`` names other layouts
        ("HWC", "HW", "CHW" with 1 channel...). Float values are in [0, 1], uint8 in
        [0, 255]. Stored as PNG."""
        encoded = _summary.image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None,
                   dataformats="NCHW"):
        """Log a batch of images, (N, 3, H, W) by default, tiled 8 to a row."""
        encoded = _summary.image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """Log a matplotlib figure (or a list of them, as a batch) rendered to RGB."""
        images = _figure_to_image(figure, close)
        self.add_image(tag, images, global_step, walltime,
                       dataformats="NCHW" if isinstance(figure, list) else "CHW")

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None,
                             walltime=None, rescale=1, dataformats="CHW", labels=None):
        """Log an image, (3, H, W) by default, with boxes (N, 4) of (xmin, ymin, xmax,
        ymax) pixels drawn on it in red, each with its label if ``labels`` (one string
        per box; a count that differs draws none) is given; ``rescale`` resizes the
        image. Drawn with Pillow, as PyTorch's."""
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        encoded = _summary.image_boxes(tag, img_tensor, box_tensor, rescale=rescale,
                                       dataformats=dataformats, labels=labels)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        """Log videos (N, T, C, H, W) as one animated GIF, the N clips tiled in a grid;
        float values in [0, 1], uint8 in [0, 255]. Encoded with Pillow (PyTorch's writer
        needs moviepy 1.x for it)."""
        encoded = _summary.video(tag, vid_tensor, fps=fps)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100,
                  walltime=None):
        """Log a mono sound clip, shape (1, L), samples in [-1, 1], as 16-bit WAV."""
        encoded = _summary.audio(tag, snd_tensor, sample_rate=sample_rate)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    # ------------------------------------------------------------------------- text

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Log a string (markdown is rendered), under ``tag + "/text_summary"``."""
        self._get_file_writer().add_summary(_summary.text(tag, text_string),
                                            global_step, walltime)

    # ------------------------------------------------------------------------- hparams

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None,
                    run_name=None, global_step=None):
        """Log one run's hyperparameters (bool, str, int, float, None: skipped, or a
        one-element tensor) with metrics to compare them by, in a sub-run
        ``<log_dir>/<run_name>`` (default: the current time); the metric values are
        logged there as scalars."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as run:
            for encoded in (exp, ssi, sei):
                run.file_writer.add_summary(encoded, global_step)
            for k, v in metric_dict.items():
                run.add_scalar(k, v, global_step)

    # ------------------------------------------------------------------------- embeddings

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None,
                      tag="default", metadata_header=None):
        """Save points for TensorBoard's projector: ``mat`` (N, D), optional labels
        ``metadata`` (N of them; rows of columns named by ``metadata_header``) and
        ``label_img`` (N, C, H, W) shown as sprites, in ``<log_dir>/<step:05d>/<tag>``."""
        mat = _summary.make_np(mat)
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{_embedding.quote_path_part(tag)}"
        logdir = self._get_file_writer().get_logdir()
        save_path = os.path.join(logdir, subdir)
        if os.path.exists(save_path):
            if not os.path.isdir(save_path):
                raise NotADirectoryError(
                    f"Path: `{save_path}` exists, but is a file. Cannot proceed.")
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            _embedding.write_tsv(metadata, save_path, metadata_header=metadata_header)
        if label_img is not None:
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            label_img = _summary.make_np(label_img)
            _embedding.write_sprite(label_img, save_path)
        if mat.ndim != 2:
            raise AssertionError(
                "mat should be 2D, where mat.size(0) is the number of data points")
        _embedding.write_matrix(mat, save_path)
        # the config lists every embedding so far; files cannot be appended to everywhere,
        # so it is rewritten whole
        entry = _embedding.embedding_info_text(
            f"{tag}:{str(global_step).zfill(5)}", os.path.join(subdir, "tensors.tsv"),
            metadata_path=None if metadata is None else os.path.join(subdir, "metadata.tsv"),
            sprite_path=None if label_img is None else os.path.join(subdir, "sprite.png"),
            sprite_dim=None if label_img is None else [label_img.shape[3], label_img.shape[2]])
        self._projector_entries.append(entry)
        with open(os.path.join(logdir, "projector_config.pbtxt"), "wb") as f:
            f.write("".join(self._projector_entries).encode("utf-8"))

    # ------------------------------------------------------------------------- PR curves

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None):
        """Log a precision-recall curve of binary ``labels`` and ``predictions`` in
        [0, 1], at ``num_thresholds`` (at most 127) thresholds."""
        labels, predictions = _summary.make_np(labels), _summary.make_np(predictions)
        encoded = _summary.pr_curve(tag, labels, predictions, num_thresholds, weights)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts,
                         true_negative_counts, false_negative_counts, precision, recall,
                         global_step=None, num_thresholds=127, weights=None, walltime=None):
        """Log a precision-recall curve from its counts, precision and recall."""
        encoded = _summary.pr_curve_raw(tag, true_positive_counts, false_positive_counts,
                                        true_negative_counts, false_negative_counts,
                                        precision, recall, num_thresholds)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    # ------------------------------------------------------------------------- custom scalars

    def add_custom_scalars(self, layout):
        """Group scalar tags into charts: ``{category: {chart: ["Multiline", tags]}}`` or
        ``["Margin", [value, lower, upper]]``."""
        self._get_file_writer().add_summary(_summary.custom_scalars(layout))

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    # ------------------------------------------------------------------------- not built

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Log the graph of `model` run on `input_to_model` (a tensor or a tuple of them)
        for TensorBoard's Graphs tab: ops named by module scope (``Net/Conv2d[conv1]``),
        their ATen names and output shapes (see ``_graph``: ember traces with ember.fx
        where PyTorch uses torch.jit.trace)."""
        from ._graph import graph
        graph_def, run_metadata = graph(model, input_to_model, verbose, use_strict_trace)
        writer = self._get_file_writer()
        writer.add_event(pb.event(wall_time=time.time(), graph_def=graph_def))
        writer.add_event(pb.event(wall_time=time.time(), tagged_run_metadata=pb.tagged_run_metadata(
            "step1", run_metadata)))

    def add_onnx_graph(self, prototxt):
        raise NotImplementedError("SummaryWriter.add_onnx_graph is not implemented in ember")

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None,
                 global_step=None, walltime=None):
        """Log a mesh or point cloud for TensorBoard's mesh plugin: ``vertices`` (B, N, 3)
        coordinates, optional ``colors`` (B, N, 3) 0-255 and ``faces`` (B, F, 3) vertex
        indices; ``config_dict`` holds Three.js settings (camera, lights, material)."""
        encoded = _summary.mesh(tag, vertices, colors, faces, config_dict)
        self._get_file_writer().add_summary(encoded, global_step, walltime)

    # ------------------------------------------------------------------------- files

    def flush(self):
        """Push every pending record of every event file to the disk."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        """Flush and close the event files (closing twice does nothing; a later add_*
        opens a new file)."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()


def _figure_to_image(figures, close=True):
    """A matplotlib figure rendered by Agg as a (3, H, W) uint8 array, or a list of
    figures as (N, 3, H, W)."""
    try:
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as error:
        raise ModuleNotFoundError(
            "SummaryWriter.add_figure needs matplotlib (pip install matplotlib)",
            name="matplotlib") from error
    import numpy as np

    def render(figure):
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        rgba = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
        width, height = figure.canvas.get_width_height()
        chw = np.moveaxis(rgba.reshape(height, width, 4)[:, :, :3], 2, 0)
        if close:
            plt.close(figure)
        return chw

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)
