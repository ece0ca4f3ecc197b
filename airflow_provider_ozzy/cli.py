"""The ``ozzy`` command line: run, validate, resume, modules, schema.

Exit codes: 0 done, 1 the export failed, 2 the configuration is invalid, 130 stopped on request
(resumable). No Airflow module is imported unless a configured module needs a hook.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from airflow_provider_ozzy.core.errors import ConfigurationError, OzzyError, describe_os_error
from airflow_provider_ozzy.core.redaction import install_log_masking, mask

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_STOPPED = 130


_STRICT_HELP = (
    "refuse what exporters ignored (unknown sections, section keys, exporter options) instead of "
    "warning; as exporter_options.strict: true"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ozzy", description="Resumable data exports (exporters-compatible configs)."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run an export from a JSON or YAML config")
    run.add_argument("config")
    run.add_argument(
        "--job-id", help="job id for the persistence (default: exporter_options.persistence_state_id or new)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--strict", action="store_true", help=_STRICT_HELP)
    validate = commands.add_parser("validate", help="check a config; lists every error, exit 2 when invalid")
    validate.add_argument("config")
    validate.add_argument("--strict", action="store_true", help=_STRICT_HELP)
    resume = commands.add_parser("resume", help="resume a stopped or failed job, e.g. pickle:.ozzy-state/JOB")
    resume.add_argument("uri")
    resume.add_argument("--quiet", action="store_true")
    modules = commands.add_parser("modules", help="list every module with its options")
    modules.add_argument("--json", action="store_true", help="machine-readable output")
    modules.add_argument("--markdown", action="store_true", help="the module reference (docs/modules.md)")
    commands.add_parser("schema", help="print the JSON Schema of configs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    install_log_masking()  # every log line through redaction.mask
    try:
        return _dispatch(args)
    except ConfigurationError as error:
        print(mask(f"ozzy: {error}"), file=sys.stderr)
        return EXIT_INVALID
    except (OzzyError, ConnectionError, TimeoutError) as error:
        # a network fault still there after the module's retries: its message names the module,
        # the place and the endpoint; a traceback would add nothing
        if args.debug:
            print(mask("".join(traceback.format_exception(error))), file=sys.stderr, end="")
            return EXIT_FAILED
        print(mask(f"ozzy: export failed: {error}"), file=sys.stderr)
        return EXIT_FAILED
    except OSError as error:
        # disk full, read-only or missing folders, a file in a folder's place: the operating
        # system's reason, the path, and what to do, on one line
        if args.debug:
            print(mask("".join(traceback.format_exception(error))), file=sys.stderr, end="")
            return EXIT_FAILED
        print(mask(f"ozzy: export failed: {describe_os_error(error)}"), file=sys.stderr)
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "validate":
        return _validate(args.config, args.strict)
    if args.command == "modules" and args.markdown:
        from airflow_provider_ozzy.engine.docs_gen import render_markdown

        print(render_markdown(), end="")
        return 0
    if args.command == "modules":
        return _modules(args.json)
    if args.command == "schema":
        from airflow_provider_ozzy.engine.schema import config_schema

        print(json.dumps(config_schema(), indent=2))
        return 0
    from airflow_provider_ozzy.core.progress import ProgressPrinter
    from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter

    progress = None if args.quiet else ProgressPrinter()
    if progress:
        progress.keep_logs_apart()
    if args.command == "run":
        config: Any = args.config
        if args.strict:
            from airflow_provider_ozzy.engine.config import load_config

            config = load_config(args.config)
            options = config.data.get("exporter_options")
            config.data["exporter_options"] = dict(options if isinstance(options, dict) else {}, strict=True)
        exporter = BasicExporter(config, job_id=args.job_id, progress=progress)
    else:
        exporter = BasicExporter.from_persistence_uri(args.uri, progress=progress)
    try:
        with _stdout_for_data_only() as data:
            return _export(exporter, data)
    finally:
        if progress:  # before any message main prints on the way out
            progress.close()


@contextlib.contextmanager
def _stdout_for_data_only() -> Iterator[BinaryIO]:
    """Standard output carries the items (ConsoleWriter) and the stats line, nothing else: it is
    kept aside for them, while ``sys.stdout`` (and, for a real terminal or pipe, file descriptor 1)
    lead to standard error, where whatever else prints belongs (Airflow's logging, set up when a
    module first resolves a connection, prints to standard output)."""
    from airflow_provider_ozzy.writers.console_writer import use_data_stream

    original = sys.stdout
    original.flush()
    real = original is sys.__stdout__
    saved_fd = os.dup(1) if real else None
    data = cast(
        BinaryIO,
        os.fdopen(os.dup(1), "wb") if real else getattr(original, "buffer", None) or _BytesToText(original),
    )
    if real:
        os.dup2(2, 1)
    sys.stdout = sys.stderr
    use_data_stream(data)
    try:
        yield data
    finally:
        data.flush()
        use_data_stream(None)
        sys.stdout = original
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


class _BytesToText(io.RawIOBase):
    """A binary stream writing into a text one (``sys.stdout`` replaced by a ``StringIO``)."""

    def __init__(self, text: Any) -> None:
        self.text = text

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        self.text.flush()


def _export(exporter: Any, data: BinaryIO) -> int:
    def stop(signum: int, _frame: Any) -> None:
        log = logging.getLogger("airflow_provider_ozzy")
        if not exporter.stop_requested.is_set():
            log.warning("Signal %d: stopping after the current batch (send it again to stop at once)", signum)
            exporter.request_stop()
            return
        # a second signal: stop now, even inside a batch or a sandboxed expression (its process is
        # killed as the exception leaves it); what was committed stays committed
        log.warning("Signal %d again: stopping at once", signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        stats = exporter.export()
    except KeyboardInterrupt:
        if exporter.progress:
            exporter.progress.end_line()
        uri = getattr(exporter.persistence, "uri", None)
        print(
            f"ozzy: stopped at once; the last committed batch is kept, resume with: ozzy resume {uri}",
            file=sys.stderr,
        )
        return EXIT_STOPPED
    data.write(json.dumps(stats, sort_keys=True).encode() + b"\n")
    data.flush()
    print(state_location(exporter.persistence), file=sys.stderr)
    return 0 if stats.get("finished") else EXIT_STOPPED


def state_location(persistence: Any) -> str:
    """The closing line of ``ozzy run``: where the job state went, since without a ``persistence``
    section it is a ``.ozzy-state/`` folder in the current directory that nothing else mentions."""
    line = f"ozzy: job state kept at {persistence.uri}"
    folder = getattr(persistence, "options", {}).get("file_path")
    if folder:  # PicklePersistence: the folder, absolute, and how to move it
        line += f" (folder {os.path.abspath(folder)}; set persistence.options.file_path or OZZY_STATE_DIR to move it)"
    return mask(line)


def _validate(path: str, strict: bool) -> int:
    from airflow_provider_ozzy.engine.config import normalize, validate

    config = validate(path, strict=strict or None)
    data = normalize(config.data)
    count = len(config.warnings)
    ignored = (
        f"; {count} ignored key{'s' if count != 1 else ''} (warnings above; --strict refuses them)"
        if count
        else ""
    )
    print(f"{path}: valid ({data['reader']['name']} -> {data['writer']['name']}){ignored}")
    return 0


def _modules(as_json: bool) -> int:
    from airflow_provider_ozzy.core.options import is_mandatory, merged_options, type_name
    from airflow_provider_ozzy.engine.docs_gen import summary
    from airflow_provider_ozzy.engine.registry import all_modules

    listing: list[dict[str, Any]] = []
    for kind, class_name, cls in all_modules():
        options = {
            name: {
                "type": type_name(spec.get("type", object)),
                "mandatory": is_mandatory(spec),
                **({"default": spec["default"]} if "default" in spec else {}),
                **({"env_fallback": spec["env_fallback"]} if "env_fallback" in spec else {}),
                "help": spec.get("help", ""),
            }
            for name, spec in merged_options(cls).items()
        }
        listing.append({"kind": kind, "name": class_name, "doc": summary(cls), "options": options})
    if as_json:
        print(json.dumps(listing, indent=2, default=str))
        return 0
    for entry in listing:
        print(f"{entry['kind']}.{entry['name']}: {entry['doc']}")
        for name, spec in entry["options"].items():
            detail = "mandatory" if spec["mandatory"] else f"default {spec.get('default')!r}"
            env = f", env {spec['env_fallback']}" if "env_fallback" in spec else ""
            print(f"    {name} ({spec['type']}; {detail}{env}): {spec['help']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
