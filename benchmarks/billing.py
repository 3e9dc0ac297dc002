"""The billing benchmarks of issue #5 (what each figure means, and the figures: docs/benchmarks.md).

    python -m benchmarks.billing [--services 100000,1000000] [--agreements 3000] [--keep] [--reuse]
                                 [--scenarios year,monthly] [--no-pdf] [--json FILE]

For each size it builds a scratch PostgreSQL database (migrated, the 290 reference municipalities, the
national-scale dataset of benchmarks.dataset: N agreements, M attested services over 2026), then
measures, on a fresh copy per scenario:

a. the December invoice run of every seller (billing.invoicing.services.compute_runs: priced in one
   pass, one run per seller with its draft invoices, lines, billed-service links and audit entries,
   committed) against ONE hand-written SQL aggregate computing the same line totals (HAND_SQL, best of
   3, run first in the same process), and checks that both give the same sum per agreement and buyer.
   Scenario "year": nothing is billed yet, so December bills the whole year. Scenario "monthly":
   January to November are billed first by their own runs (not measured), so December bills December.
b. the peak memory (ru_maxrss) of the process that does the run, per size (first scenario);
c. PDFs for 300 of the run's invoices, on the first size: the batch path used at issue
   (render_invoice_pdfs: one wkhtmltopdf process, split per invoice) against wkhtmltopdf rendering the
   same 300 invoices as one document (core.pdf.render_pdf of the concatenated HTML), and one process per
   invoice for 20 invoices, extrapolated to 300.

Each measurement runs in a child process (`--child`), so its peak memory is the run's alone. The
server: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres). The
databases are named samverkan_bench_*; --keep keeps the generated datasets, --reuse uses a kept one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from decimal import Decimal

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PREFIX = "samverkan_bench"
YEAR = 2026
PERIOD_START = dt.date(YEAR, 12, 1)
PDF_INVOICES = 300
PDF_SINGLE_SAMPLE = 20

# The line totals of the December run by hand: every attested, unbilled service up to 31 December,
# summed per agreement, buyer and service type within the contract version in force on its date,
# quantities rounded up per entry to started quarter or half hour where the terms say so, times the
# year's price (or the latest earlier year's), rounded half-up to öre per line.
HAND_SQL = """
WITH versions AS (
    SELECT id, agreement_id, effective_from,
           lead(effective_from) OVER (PARTITION BY agreement_id ORDER BY effective_from) AS next_from
    FROM contract_versions WHERE status = 'approved'
), sums AS (
    SELECT ps.agreement_id, ps.buying_municipality_id AS buyer_id, ps.service_type_code AS code,
           v.id AS version_id, extract(year FROM ps.service_date)::int AS year,
           sum(ps.quantity) AS quantity,
           sum(ceil(ps.quantity * 4)) / 4 AS quarters,
           sum(ceil(ps.quantity * 2)) / 2 AS halves
    FROM performed_services ps
    JOIN versions v ON v.agreement_id = ps.agreement_id AND ps.service_date >= v.effective_from
                   AND (v.next_from IS NULL OR ps.service_date < v.next_from)
    WHERE ps.attested_at IS NOT NULL AND ps.service_date <= :period_end
      AND NOT EXISTS (SELECT 1 FROM billed_services b WHERE b.performed_service_id = ps.id)
    GROUP BY 1, 2, 3, 4, 5
)
SELECT s.agreement_id, s.buyer_id,
       round(CASE c.time_rounding_minutes WHEN 15 THEN s.quarters WHEN 30 THEN s.halves
             ELSE s.quantity END
             * (SELECT p.amount FROM contract_prices p
                WHERE p.component_id = c.id AND p.case_type = '' AND p.year <= s.year
                ORDER BY p.year DESC LIMIT 1), 2) AS amount
FROM sums s
JOIN contract_service_types st ON st.version_id = s.version_id AND st.code = s.code
JOIN contract_components c ON c.service_type_id = st.id AND c.buyer_municipality_id IS NULL
"""


def server_engine():
    return create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")


def database_url(name: str) -> str:
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def database_exists(name: str) -> bool:
    engine = server_engine()
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    engine.dispose()
    return found is not None


def drop_database(name: str) -> None:
    engine = server_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def copy_database(source: str, target: str) -> None:
    """A fresh copy of the generated dataset (CREATE DATABASE ... TEMPLATE copies the files)."""
    drop_database(target)
    engine = server_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))
    engine.dispose()


def build_dataset(name: str, agreements: int, services: int, reuse: bool) -> float | None:
    """Create, migrate and fill database `name`; returns the seconds it took (None when reused)."""
    from sqlalchemy.orm import Session

    from benchmarks.dataset import generate
    from core.migrate import upgrade
    from core.services import load_reference_municipalities

    if reuse and database_exists(name):
        engine = create_engine(database_url(name))
        with engine.connect() as conn:
            counts = conn.execute(
                text("SELECT (SELECT count(*) FROM performed_services), (SELECT count(*) FROM agreements)")
            ).one()
        engine.dispose()
        if tuple(counts) == (services, agreements):
            return None
    started = time.perf_counter()
    drop_database(name)
    admin = server_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(database_url(name))
    upgrade(engine)
    with Session(engine) as session:
        load_reference_municipalities(session)
        session.commit()
    generate(engine, agreements, services)
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


# --- Child: one size, in its own process -------------------------------------------------------------


def _maxrss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app(url: str):
    from core import create_app

    return create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "benchmark", "SERVER_NAME": None})


def _timed(module, name: str, spent: dict) -> None:
    """Add the time spent in module.name (called a few times per run) to spent[name]."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)


def setup_monthly(url: str) -> dict:
    """The steady state before a December run: January to November billed by their monthly runs."""
    from billing.invoicing import services as invoicing
    from core.audit import acting_as
    from core.db import unit_of_work

    app = _app(url)
    started = time.perf_counter()
    with app.app_context():
        for month in range(1, 12):
            with acting_as(f"benchmark: run {YEAR}-{month:02d}"), unit_of_work() as session:
                invoicing.compute_runs(session, None, invoicing.period_of("month", dt.date(YEAR, month, 1)))
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"setup_seconds": time.perf_counter() - started}


def child(url: str, pdf: bool) -> dict:
    """The hand-written query three times, then the December run once; report both and the memory."""
    from sqlalchemy import func, select

    from billing import pricing
    from billing.invoicing import services as invoicing
    from billing.models import BilledService, Invoice, InvoiceLine
    from core.audit import acting_as
    from core.db import db_session, unit_of_work
    from core.models import AuditEntry

    result: dict = {"load_average": os.getloadavg()[0]}
    # The hand-written query first, on the data as the run finds it (the run bills what it sums).
    engine = create_engine(url)
    timings = []
    with engine.connect() as conn:
        for _ in range(3):
            started = time.perf_counter()
            rows = conn.execute(text(HAND_SQL), {"period_end": dt.date(YEAR, 12, 31)}).all()
            timings.append(time.perf_counter() - started)
        conn.rollback()
    engine.dispose()
    hand: dict = {}
    for agreement_id, buyer_id, amount in rows:
        hand[(agreement_id, buyer_id)] = hand.get((agreement_id, buyer_id), Decimal("0.00")) + amount
    result["sql_seconds"] = min(timings)
    result["sql_timings"] = timings
    result["hand_lines"] = len(rows)
    del rows

    spent: dict = {}
    _timed(pricing, "price_run", spent)
    _timed(pricing, "link_lines", spent)
    _timed(invoicing, "append_audit_entries", spent)
    _timed(invoicing, "_insert_rows", spent)
    app = _app(url)
    with app.app_context():
        # Warm up the mappers and the connection pool outside the timing.
        with unit_of_work() as session:
            audit_before = session.execute(select(func.count()).select_from(AuditEntry)).scalar()
        result["rss_before_mib"] = _maxrss_mib()
        period = invoicing.period_of("month", PERIOD_START)
        started = time.perf_counter()
        with acting_as("benchmark: december run"), unit_of_work() as session:
            runs = invoicing.compute_runs(session, None, period)
            run_ids = [run.id for run in runs]
        result["run_seconds"] = time.perf_counter() - started
        result["rss_peak_mib"] = _maxrss_mib()
        result["spent"] = spent
        session = db_session()
        ours = select(Invoice.id).where(Invoice.run_id.in_(run_ids))
        lines = select(InvoiceLine.id).where(InvoiceLine.invoice_id.in_(ours))
        counts = session.execute(
            select(
                select(func.count()).where(Invoice.id.in_(ours)).scalar_subquery(),
                select(func.count()).where(InvoiceLine.id.in_(lines)).scalar_subquery(),
                select(func.count())
                .select_from(BilledService)
                .where(BilledService.invoice_line_id.in_(lines))
                .scalar_subquery(),
                select(func.count()).select_from(AuditEntry).scalar_subquery(),
            )
        ).one()
        result["runs"] = len(run_ids)
        result["invoices"], result["lines"], result["billed"], audit_after = counts
        result["audit"] = audit_after - audit_before
        produced = {
            (a, b): Decimal(total)
            for a, b, total in session.execute(
                select(Invoice.agreement_id, Invoice.buyer_municipality_id, func.sum(Invoice.net_amount))
                .where(Invoice.run_id.in_(run_ids))
                .group_by(Invoice.agreement_id, Invoice.buyer_municipality_id)
            )
        }
        session.rollback()
        db_session.remove()

    result["hand_total"] = str(sum(hand.values(), Decimal("0.00")))
    result["run_total"] = str(sum(produced.values(), Decimal("0.00")))
    result["pairs"] = len(produced)
    differ = [key for key in set(hand) | set(produced) if hand.get(key) != produced.get(key)]
    result["totals_agree"] = not differ
    result["differences"] = [[k[0], k[1], str(hand.get(k)), str(produced.get(k))] for k in differ[:5]]
    if pdf:
        result.update(pdf_figures(url))
    return result


def pdf_figures(url: str) -> dict:
    """Batch PDFs (as at issue) of 300 of the run's invoices against one wkhtmltopdf document."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from billing.exports import pdf as invoice_pdf
    from billing.models import Invoice
    from core.db import db_session
    from core.pdf import render_pdf
    from registry.models import Agreement

    app = _app(url)
    figures: dict = {}
    with app.app_context():
        session = db_session()
        invoices = session.scalars(
            select(Invoice)
            .order_by(Invoice.id)
            .limit(PDF_INVOICES)
            .options(
                selectinload(Invoice.lines),
                selectinload(Invoice.seller),
                selectinload(Invoice.buyer),
                selectinload(Invoice.series),
                selectinload(Invoice.agreement).selectinload(Agreement.parties),
            )
        ).all()
        figures["pdf_invoices"] = len(invoices)
        html = invoice_pdf.render_invoices_html(invoices, True)
        started = time.perf_counter()
        one = render_pdf(html)
        figures["pdf_one_document_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        parts = invoice_pdf.render_invoice_pdfs(invoices, final=True)
        figures["pdf_batch_seconds"] = time.perf_counter() - started
        figures["pdf_batch_parts"] = len(parts)
        figures["pdf_one_document_bytes"] = len(one)
        started = time.perf_counter()
        for invoice in invoices[:PDF_SINGLE_SAMPLE]:
            invoice_pdf.render_invoice_pdf(invoice, True)
        sample = time.perf_counter() - started
        figures["pdf_single_sample_seconds"] = sample
        figures["pdf_single_extrapolated_seconds"] = sample / PDF_SINGLE_SAMPLE * len(invoices)
        session.rollback()
        db_session.remove()
    return figures


# --- Parent: datasets, children, the table ----------------------------------------------------------


def machine() -> dict:
    engine = server_engine()
    with engine.connect() as conn:
        server = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        wk = subprocess.run(["wkhtmltopdf", "--version"], capture_output=True, text=True, check=False)
        wkhtmltopdf = wk.stdout.strip()
    except OSError:
        wkhtmltopdf = "saknas"
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "postgresql": server,
        "python": platform.python_version(),
        "wkhtmltopdf": wkhtmltopdf,
    }


def _subprocess(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.billing", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"benchmarks.billing {args[0]} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_size(agreements: int, services: int, args) -> list[dict]:
    """The figures of one size: the year scenario (and the PDFs, if asked), then the monthly one."""
    source = f"{PREFIX}_{agreements}_{services}"
    target = f"{PREFIX}_run"
    size = f"{services:,}".replace(",", " ")
    print(f"* {size} performed services: dataset ...", flush=True)
    generated = build_dataset(source, agreements, services, args.reuse)
    results = []
    for scenario in args.scenarios:
        copy_database(source, target)
        extra: dict = {}
        if scenario == "monthly":
            print(f"  {size}: January-November billed first (not measured) ...", flush=True)
            extra = _subprocess("--setup-monthly", database_url(target))
        print(f"  {size}: the December run ({scenario}) and the SQL query ...", flush=True)
        pdf = args.pdf_here and scenario == args.scenarios[0]
        figures = _subprocess("--child", database_url(target), *(["--pdf"] if pdf else []))
        figures.update(extra, scenario=scenario, services=services, agreements=agreements)
        figures["generate_seconds"] = generated
        results.append(figures)
        drop_database(target)
    if not args.keep:
        drop_database(source)
    return results


def _row(label: str, *values) -> str:
    return f"  {label:<62}" + "".join(f"{v:>18}" for v in values)


def _size(figures: dict) -> str:
    return f"{figures['services']:,}".replace(",", " ")


def report(machine_info: dict, sizes: list[dict]) -> None:
    print()
    print(
        f"Machine: {machine_info['cpus']} cores ({machine_info['cpu']}), {machine_info['memory_gib']} GiB; "
        f"PostgreSQL {machine_info['postgresql']}; Python {machine_info['python']}; "
        f"{machine_info['wkhtmltopdf']}"
    )
    for scenario in ("year", "monthly"):
        runs = [s for s in sizes if s["scenario"] == scenario]
        if not runs:
            continue
        print()
        title = (
            "nothing billed before: December bills the whole year"
            if scenario == "year"
            else "January-November billed by their runs: December bills December"
        )
        print(f"a. The December run of every seller, scenario {scenario} ({title}):")
        print(_row("performed services in the dataset", *(_size(s) for s in runs)))
        print(
            _row(
                "runs / invoices / lines created",
                *(f"{s['runs']}/{s['invoices']}/{s['lines']}" for s in runs),
            )
        )
        print(_row("services linked to the lines", *(str(s["billed"]) for s in runs)))
        print(
            _row("the run, everything created and committed (s)", *(f"{s['run_seconds']:.2f}" for s in runs))
        )
        for key, label in (
            ("price_run", "  of which pricing (terms loaded, services summed) (s)"),
            ("_insert_rows", "  of which invoices and lines (COPY) (s)"),
            ("append_audit_entries", "  of which their audit entries (core.audit) (s)"),
            ("link_lines", "  of which linking the services (s)"),
        ):
            print(_row(label, *(f"{s['spent'].get(key, 0):.2f}" for s in runs)))
        print(
            _row(
                "  the rest (runs, rows and entries built, checks, commit) (s)",
                *(f"{s['run_seconds'] - sum(s['spent'].values()):.2f}" for s in runs),
            )
        )
        print(_row("hand-written SQL aggregate, best of 3 (s)", *(f"{s['sql_seconds']:.2f}" for s in runs)))
        print(
            _row(
                "RATIO run / SQL (target <= 3)", *(f"{s['run_seconds'] / s['sql_seconds']:.1f}" for s in runs)
            )
        )
        print(
            _row(
                "load average (1 min) when the measurement began",
                *(f"{s['load_average']:.1f}" if "load_average" in s else "-" for s in runs),
            )
        )
        print(_row("same sum per agreement and buyer", *("yes" if s["totals_agree"] else "NO" for s in runs)))
    year = [s for s in sizes if s["scenario"] == sizes[0]["scenario"]]
    print()
    print(f"b. Peak memory (ru_maxrss of the process that does the run, scenario {year[0]['scenario']}):")
    print(_row("performed services in the dataset", *(_size(s) for s in year)))
    print(_row("process before the run (MiB)", *(f"{s['rss_before_mib']:.0f}" for s in year)))
    print(_row("peak during the run (MiB)", *(f"{s['rss_peak_mib']:.0f}" for s in year)))
    print(_row("added by the run (MiB)", *(f"{s['rss_peak_mib'] - s['rss_before_mib']:.0f}" for s in year)))
    if len(year) > 1:
        first, last = year[0], year[-1]
        print(
            _row(
                f"RATIO peak {_size(last)} / {_size(first)} (target: flat)",
                f"{last['rss_peak_mib'] / first['rss_peak_mib']:.2f}",
            )
        )
    with_pdf = [s for s in sizes if "pdf_batch_seconds" in s]
    if with_pdf:
        s = with_pdf[0]
        print()
        print(f"c. PDFs for {s['pdf_invoices']} invoices:")
        print(_row("batch as at issue: one process, split (s)", f"{s['pdf_batch_seconds']:.2f}"))
        print(
            _row("wkhtmltopdf, the same invoices as one document (s)", f"{s['pdf_one_document_seconds']:.2f}")
        )
        print(
            _row(
                "RATIO batch / one document (target <= 3)",
                f"{s['pdf_batch_seconds'] / s['pdf_one_document_seconds']:.2f}",
            )
        )
        print(
            _row(
                f"one process per invoice ({PDF_SINGLE_SAMPLE}, extrapolated) (s)",
                f"{s['pdf_single_extrapolated_seconds']:.2f}",
            )
        )
        print(
            _row(
                "ratio one process per invoice / one document",
                f"{s['pdf_single_extrapolated_seconds'] / s['pdf_one_document_seconds']:.1f}",
            )
        )
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.billing", description=__doc__.split("\n")[0])
    parser.add_argument("--services", default="100000,1000000", help="sizes, comma separated")
    parser.add_argument("--agreements", type=int, default=3000)
    parser.add_argument(
        "--scenarios",
        default="year,monthly",
        help="year: the December run bills the whole year; monthly: January to November are billed first",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated datasets")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept dataset of the same size")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF figures")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--report", help="print the table of figures saved earlier with --json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--setup-monthly", help=argparse.SUPPRESS)
    parser.add_argument("--pdf", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.pdf)))
        return
    if args.setup_monthly:
        print(json.dumps(setup_monthly(args.setup_monthly)))
        return
    if args.report:
        with open(args.report, encoding="utf-8") as fh:
            saved = json.load(fh)
        report(saved["machine"], saved["sizes"])
        return
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if set(args.scenarios) - {"year", "monthly"}:
        parser.error("--scenarios: year and/or monthly")
    sizes = [int(s.replace("_", "").replace(" ", "")) for s in args.services.split(",") if s.strip()]
    info = machine()
    figures = []
    for index, services in enumerate(sizes):
        args.pdf_here = not args.no_pdf and index == 0
        figures += run_size(args.agreements, services, args)
    report(info, figures)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": info, "sizes": figures}, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
