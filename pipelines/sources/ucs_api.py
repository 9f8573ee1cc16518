"""The UCS platform's paginated JSON API: a server that serves a change feed (the simulator,
locally and in tests), and the client that pulls a day of a table into the landing zone.

    GET /api/v1/<entity>?updated_date=YYYY-MM-DD&page=N&page_size=M
    -> {"items": [...], "page": N, "page_size": M, "total": T, "next": "<url>" | null}

Entities are `talents`, `companies`, `jobs` and `courses`. With a token configured, requests
need `Authorization: Bearer <token>`; the token comes from the environment
(`LAKEHOUSE_UCS_API_TOKEN`), never from code.

    python -m pipelines.sources.ucs_api serve --port 8765 --seed 42 --scale 0.01
    python -m pipelines.sources.ucs_api fetch --day 2020-03-02   # into the configured lake
"""

from __future__ import annotations

import argparse
import hmac
import http.client
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import polars as pl

from contracts.model import Contract
from contracts.ucs import UCS_CONTRACTS
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings

API_PREFIX = "/api/v1"
MAX_PAGE_SIZE = 1000
RETRYABLE = {429, 500, 502, 503, 504}

# (table, day) -> the changes of that day, one row per record, values as strings.
Feed = Callable[[str, date], pl.DataFrame]


def entity(contract: Contract) -> str:
    """The API's name for a UCS table: `ucs_talents` -> `talents`."""
    return contract.table.removeprefix("ucs_")


TABLES = {entity(c): c.table for c in UCS_CONTRACTS}


class UcsApiError(RuntimeError):
    """The API refused a request, or did not answer after every retry."""


# -- server ---------------------------------------------------------------------------------------
class UcsApiServer:
    """The API over a feed, on a background thread; use as a context manager.

    `fail_first` and `stall_first` make the first requests answer 503, or answer only after
    `stall_seconds`, as an unreliable upstream does, so clients can be tested against it.
    """

    def __init__(
        self,
        feed: Feed,
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        fail_first: int = 0,
        stall_first: int = 0,
        stall_seconds: float = 2.0,
    ) -> None:
        self.feed = feed
        self.token = token
        self.fail_first = fail_first
        self.stall_first = stall_first
        self.stall_seconds = stall_seconds
        self.requests = 0
        self._lock = threading.Lock()
        self._days: dict[tuple[str, date], list[dict[str, Any]]] = {}
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> UcsApiServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns within 50 ms
            name="ucs-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> UcsApiServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def items(self, table: str, day: date) -> list[dict[str, Any]]:
        with self._lock:
            if (table, day) not in self._days:
                self._days[(table, day)] = self.feed(table, day).to_dicts()
            return self._days[(table, day)]

    def next_fault(self) -> str | None:
        """'fail' or 'stall' for the first requests when configured to misbehave."""
        with self._lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                return "fail"
            if self.requests <= self.fail_first + self.stall_first:
                return "stall"
            return None

    def authorised(self, header: str | None) -> bool:
        if not self.token:
            return True
        return hmac.compare_digest((header or "").encode(), f"Bearer {self.token}".encode())


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a stalled answer closed its socket; nothing to report.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(api: UcsApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "UcsApiSimulator/1.0"

        def do_GET(self) -> None:
            fault = api.next_fault()
            if fault == "fail":
                return self._reply(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "try again later"})
            if fault == "stall":
                time.sleep(api.stall_seconds)
            if not api.authorised(self.headers.get("Authorization")):
                return self._reply(
                    HTTPStatus.UNAUTHORIZED,
                    {"error": "missing or wrong bearer token"},
                    {"WWW-Authenticate": 'Bearer realm="ucs"'},
                )
            url = urlsplit(self.path)
            name = url.path.removeprefix(API_PREFIX + "/").strip("/")
            if not url.path.startswith(API_PREFIX + "/") or name not in TABLES:
                return self._reply(
                    HTTPStatus.NOT_FOUND, {"error": f"no such resource {url.path!r}"}
                )
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                day = date.fromisoformat(query["updated_date"])
                page = int(query.get("page", "1"))
                page_size = int(query.get("page_size", "100"))
                if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
                    raise ValueError("page >= 1 and 1 <= page_size <= 1000")
            except (KeyError, ValueError) as error:
                return self._reply(
                    HTTPStatus.BAD_REQUEST,
                    {"error": f"need updated_date=YYYY-MM-DD, page, page_size: {error}"},
                )
            items = api.items(TABLES[name], day)
            start = (page - 1) * page_size
            more = start + page_size < len(items)
            next_query = {"updated_date": day.isoformat(), "page": page + 1, "page_size": page_size}
            # Next links on the host the client called, so it can check they stay there.
            base = f"http://{self.headers['Host']}" if self.headers["Host"] else api.base_url
            self._reply(
                HTTPStatus.OK,
                {
                    "items": items[start : start + page_size],
                    "page": page,
                    "page_size": page_size,
                    "total": len(items),
                    "next": (
                        f"{base}{API_PREFIX}/{name}?{urlencode(next_query)}" if more else None
                    ),
                },
            )

        def _reply(
            self, status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the simulator's access log is noise in the platform's logs

    return Handler


# -- client ---------------------------------------------------------------------------------------
def fetch_day(
    lake: Lake,
    contract: Contract,
    base_url: str,
    day: date,
    token: str | None = None,
    page_size: int = 500,
    timeout_s: float = 30.0,
    attempts: int = 5,
    backoff_s: float = 0.5,
) -> tuple[str, int]:
    """Pull a table's changes of one day, page by page, into one landing file; (uri, rows).

    The file is `landing/<table>/<day>/api_<table>_<YYYYMMDD>.jsonl`, read by the normal
    bronze boundary; a day without changes lands a header-only CSV instead (an empty JSON-lines
    file would be refused as unreadable). 5xx answers, 429 and timeouts are retried with
    exponential backoff; other 4xx answers fail at once, naming the URL and status.
    """
    origin = urlsplit(base_url)
    query = {"updated_date": day.isoformat(), "page": 1, "page_size": page_size}
    url: str | None = f"{base_url.rstrip('/')}{API_PREFIX}/{entity(contract)}?{urlencode(query)}"
    items: list[dict[str, Any]] = []
    total = 0
    while url is not None:
        page = _get_json(url, token, timeout_s, attempts, backoff_s)
        items += page["items"]
        total = int(page["total"])
        url = page.get("next")
        if url is not None and urlsplit(url)[:2] != origin[:2]:
            # The bearer token goes to the configured API only, never to another host.
            raise UcsApiError(f"[{contract.source}] next page {url} leaves {base_url}; refused")
    if len(items) != total:
        raise UcsApiError(
            f"[{contract.source}] {entity(contract)} {day}: the API announced {total} items "
            f"but its pages held {len(items)} (the feed changed while paging?)"
        )
    stem = f"{contract.landing_prefix}/{day.isoformat()}/api_{contract.table}_{day:%Y%m%d}"
    if not items:
        header = ",".join(contract.column_names) + "\n"
        return lake.put_file(f"{stem}.csv", header.encode()), 0
    lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    return lake.put_file(f"{stem}.jsonl", lines.encode()), len(items)


def _get_json(
    url: str, token: str | None, timeout_s: float, attempts: int, backoff_s: float
) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    failure = ""
    for attempt in range(1, attempts + 1):
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            body = error.read()[:300].decode(errors="replace")
            if error.code not in RETRYABLE:
                raise UcsApiError(f"GET {url}: HTTP {error.code} {error.reason}: {body}") from error
            failure = f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            failure = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        except json.JSONDecodeError as error:
            raise UcsApiError(f"GET {url}: the answer is not JSON ({error})") from error
        if attempt < attempts:
            time.sleep(min(backoff_s * 2 ** (attempt - 1), 30.0))
    raise UcsApiError(f"GET {url}: no answer after {attempts} attempts; last: {failure}")


# -- command line -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.sources.ucs_api")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the simulated platform's API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--seed", type=int, default=42)
    serve.add_argument("--scale", type=float, default=0.01)
    fetch = commands.add_parser("fetch", help="pull a day of every UCS table into the lake")
    fetch.add_argument("--day", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    settings = LakehouseSettings()
    token = settings.ucs_api_token.get_secret_value() or None
    if args.command == "serve":
        from pipelines.sources.ucs import simulator_feed

        server = UcsApiServer(
            simulator_feed(args.seed, args.scale), token=token, host=args.host, port=args.port
        )
        auth = "bearer token required" if token else "no token"
        print(f"UCS API simulator on {server.base_url}{API_PREFIX}/<entity> ({auth})", flush=True)
        server.serve_forever()
    else:
        if not settings.ucs_api_url:
            parser.error("set LAKEHOUSE_UCS_API_URL to the API's base URL")
        lake = Lake(settings)
        lake.ensure_ready()
        for contract in UCS_CONTRACTS:
            uri, rows = fetch_day(lake, contract, settings.ucs_api_url, args.day, token)
            print(f"{contract.table} {args.day}: {rows} rows -> {uri}")


if __name__ == "__main__":
    main()
