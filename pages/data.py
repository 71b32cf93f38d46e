"""Data: import ratings from a canonical CSV export; seed demo data into an empty database."""

from __future__ import annotations

import streamlit as st

from db.ingest import COLUMNS, MAX_KEPT_ERRORS
from leaderboard.settings import get_settings
from pages import access, common
from pages.common import md

SAMPLE = common.APP_PATH.parent / "examples" / "ratings_sample.csv"

common.guard_page()
viewer = access.require_viewer(roles=("manager", "admin"))
settings = get_settings()
url = common.database_url()
counts = common.load_counts(url, common.data_version())

st.title("Data")
st.caption(
    f"Database {md(common.redacted_url(url))} · {counts['agents']:,} agents · {counts['ratings']:,} ratings"
)

# ---- import
st.subheader("Import ratings")
st.markdown(
    "One row per closed interaction, UTF-8 CSV with a header. Leave the rating columns empty when the "
    "customer did not answer: the row still counts for the response rate. Re-importing a file is safe: "
    "rows are matched by `interaction_id` and updated, never doubled."
)
with st.expander("Columns", icon=":material/view_column:"):
    st.markdown(
        "`" + "`, `".join(COLUMNS) + "`\n\n"
        "Times are ISO 8601 (`2026-11-20T14:03:00Z`; without an offset they are taken as UTC). "
        "`stars` 1–5, `nps` 0–10, `resolved` yes/no, tags separated by `;`. "
        "Sites, teams and agents that do not exist yet are created. Very large exports load faster "
        "from the command line: `python -m leaderboard import FILE.csv`."
    )
    if SAMPLE.exists():
        st.download_button(
            "Download a sample file",
            data=SAMPLE.read_bytes(),
            file_name=SAMPLE.name,
            mime="text/csv",
            key="data_sample",
            icon=":material/description:",
            on_click="ignore",
        )

limit_bytes = settings.max_upload_mb * 1024 * 1024
upload = st.file_uploader(
    "Ratings CSV",
    type=["csv"],
    key="data_upload",
    max_upload_size=settings.max_upload_mb,
    help=f"Up to {settings.max_upload_mb} MB",
)
if upload is not None:
    if upload.size > limit_bytes:
        st.error(
            f"{md(upload.name)} is {common.human_size(upload.size)}: the limit is {settings.max_upload_mb} MB. "
            "Split the export into smaller files (re-importing overlapping rows is safe).",
            icon=":material/block:",
        )
    elif st.button(
        f"Import this file ({common.human_size(upload.size)})",
        key="data_import",
        type="primary",
        icon=":material/upload:",
    ):
        with st.spinner("Importing…"):
            report = common.import_upload(engine=common.get_engine(), data=upload.getvalue(), filename=upload.name)
        common.clear_data_caches()
        if report.fatal:
            st.error(f"Nothing was imported: {md(report.fatal)}", icon=":material/error:")
        else:
            landed = report.inserted + report.updated + report.unchanged
            if report.rejected and not landed:
                st.error(
                    f"None of the {report.rejected:,} rows landed: fix them in the file and import it again.",
                    icon=":material/error:",
                )
            elif report.rejected:
                st.warning(
                    f"Imported with {report.rejected:,} rejected row{'s' if report.rejected != 1 else ''}: "
                    "fix them in the file and import it again.",
                    icon=":material/warning:",
                )
            else:
                st.success("Every row landed.", icon=":material/check_circle:")
            cols = st.columns(5)
            for col, (label, value) in zip(
                cols,
                (
                    ("Read", report.read),
                    ("Inserted", report.inserted),
                    ("Updated", report.updated),
                    ("Unchanged", report.unchanged),
                    ("Rejected", report.rejected),
                ),
            ):
                col.metric(label, f"{value:,}", border=True)
            if report.errors:
                errors = common.errors_frame(report)
                if report.rejected > len(report.errors):
                    st.caption(f"The first {MAX_KEPT_ERRORS:,} problems are listed; every rejected row is counted.")
                st.dataframe(
                    errors,
                    key="data_errors",
                    hide_index=True,
                    column_config={
                        "line": st.column_config.NumberColumn("Line", format="%d", width=70),
                        "column": st.column_config.TextColumn("Column", width="small"),
                        "value": st.column_config.TextColumn("Value", width="medium"),
                        "reason": st.column_config.TextColumn("Reason", width="large"),
                    },
                )
                st.download_button(
                    "Download the errors (CSV)",
                    data=errors.to_csv(index=False).encode("utf-8"),
                    file_name="import-errors.csv",
                    mime="text/csv",
                    key="data_errors_download",
                    icon=":material/download:",
                    on_click="ignore",
                )

# ---- demo data
if counts["agents"] == 0:
    st.divider()
    st.subheader("Demo data")
    st.markdown("The database is empty. Seed a demo contact center (sites, teams, agents and a few weeks of ratings) to look around.")
    if st.button("Seed demo data", key="data_seed", icon=":material/auto_awesome:"):
        from db import seed

        with st.spinner("Seeding demo data…"):
            seed.seed_demo(engine=common.get_engine())
        common.clear_data_caches()
        st.success("Demo data is in. Open the Leaderboard.", icon=":material/check_circle:")
        st.page_link("pages/leaderboard.py", label="Leaderboard", icon=":material/leaderboard:")
