"""Serve the fake providers: ``python -m media_analysis_fixtures.fake_providers --port 8765``.

Prints the ``export`` lines that point every provider at the server (and fake keys, which the
server accepts whatever their value), then serves until interrupted.
"""

from __future__ import annotations

import argparse
import threading

from media_analysis_dagster.providers.specs import ALL_SPECS

from .server import FakeProviders


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    args = parser.parse_args(argv)
    fake = FakeProviders(host=args.host, port=args.port).start()
    for name, spec in ALL_SPECS.items():
        fake.set_latency(name, args.latency)
        print(f"export {spec.base_url_env}={fake.base_url(name)}")
        print(f"export {spec.key_env}=fake-{name}-key")
    print(f"# fake providers listening on {fake.url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
