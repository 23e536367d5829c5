"""What approving an addendum costs inside the request (QA-05): render the addendum revision, sign it with the
approver's PAdES key, store it. A table, not a test.

A quick-check batch is run on the simulated plant, reviewed and released through the application (with the real
candidate PDF and the releaser's PAdES signature), then addenda are added and approved one after another. Each
approval is timed as QA waits for it: the signing request from password check to commit, of which the addendum
PDF's rendering and its PAdES signature are timed apart. The test key profile is used (fast key unwrap); the
production profile adds the key unwrap measured by bench/pdf_signing_cost.py.

Run from the repository root (about half a minute):

    .venv/bin/python bench/addendum_cost.py
    .venv/bin/python bench/addendum_cost.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the batch is run with the tests' floor helpers, as the release tests run it

from ebr.adapters.modbus.simulator import SimulatedPlant  # noqa: E402  # after the path set-up above
from ebr.adapters.pdf.batch_record import BatchRecordRenderer  # noqa: E402
from ebr.adapters.pki.pades import PadesSigner  # noqa: E402
from ebr.bootstrap import build, migrate  # noqa: E402
from ebr.config import Settings  # noqa: E402
from tests.app.review_support import decide, ready_for_release  # noqa: E402
from tests.factories import actor_of, sign  # noqa: E402
from tests.fakes import FakeClock  # noqa: E402


class Timed:
    """Wraps a method and keeps how long each call took."""

    def __init__(self, owner: Any, name: str) -> None:
        self.seconds: list[float] = []
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds.append(time.perf_counter() - start)

        setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    render = Timed(BatchRecordRenderer, "render")
    pades = Timed(PadesSigner, "sign_pdf")
    with tempfile.TemporaryDirectory() as folder, SimulatedPlant(moving=False, settle_s=0.0) as plant:
        settings = Settings(
            env="test",
            instance_path=Path(folder) / "instance",
            database_url=f"sqlite:///{folder}/ebr.sqlite3",
            library_dir=REPO,
            fast_password_hashing=True,
            build_commit="bench",
        )
        migrate(settings)
        rt = build(settings, clock=FakeClock())
        floor, qa = ready_for_release(rt, plant)
        rt.services.documents.render_candidate(floor.batch_id)
        decide(floor, qa)
        render.seconds.clear()
        pades.seconds.clear()
        total = []
        for n in range(args.rounds):
            text = f"Late laboratory result {n}: conforms (LIMS {4700 + n})."
            added = rt.services.release.add_addendum(actor_of(qa.user), floor.batch_id, text, "late lab result")
            start = time.perf_counter()
            sign(rt, qa.user, qa.token, "batch_addendum", str(added.id), "approved")
            total.append(time.perf_counter() - start)
        rt.engine.dispose()
    print(f"{args.rounds} addendum approvals (revision n lists n addenda), milliseconds, median (min-max):")
    for label, values in (("whole approval request", total), ("render", render.seconds), ("PAdES", pades.seconds)):
        ms = [v * 1000 for v in values]
        print(f"  {label:<24} {statistics.median(ms):7.0f}  ({min(ms):.0f}-{max(ms):.0f})")


if __name__ == "__main__":
    main()
