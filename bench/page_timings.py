"""Single-request timings of the pages the load run uses, one user at a time, with each page's slowest queries.

Finds what makes a page slow on a large region before a load run (docs/BENCHMARKS.md, "Load"):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/polku_big
    python bench/page_timings.py --user <coordinator username> [--repeat 3] [--queries 3]

Each page is requested ``--repeat`` times (the first warms the caches); the table gives the best and the worst
time, the number of queries and the slowest queries of the last request.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user", required=True, help="username of a staff member (or a client with a login)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=3, help="slowest queries shown per page")
    parser.add_argument("--search", default="", help="the client search's text (default: a name of a client "
                                                     "the user may see)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client as Browser
    from django.test.utils import CaptureQueriesContext

    from polku.access.policy import client_of, visible_clients_page

    user = get_user_model().objects.get(username=args.user)
    browser = Browser(HTTP_ACCEPT_LANGUAGE="fi", SERVER_NAME="127.0.0.1")
    browser.force_login(user)
    if client_of(user) is not None:
        pages = ["/me/", "/me/plan/", "/me/log/"]
    else:
        first = visible_clients_page(user, limit=1)
        client_id = first[0].pk if first else 0
        search = args.search or (first[0].last_name[:5] if first else "a")
        pages = ["/", "/referrals/", f"/clients/?q={search}", f"/clients/{client_id}/", f"/api/v1/clients/{client_id}",
                 "/api/v1/alerts/worklist"]
    print(f"{'page':<40} {'best s':>8} {'worst s':>8} {'queries':>8}")
    for page in pages:
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                answer = browser.get(page)
                times.append(time.perf_counter() - started)
        status = "" if answer.status_code == 200 else f" (HTTP {answer.status_code})"
        print(f"{page[:40]:<40} {min(times):>8.3f} {max(times):>8.3f} {len(captured.captured_queries):>8}{status}")
        slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[: args.queries]
        for query in slowest:
            print(f"    {float(query['time']):.3f} s  {query['sql'][:160]}")


if __name__ == "__main__":
    main()
