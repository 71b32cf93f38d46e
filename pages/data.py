"""Data: import ratings from a canonical file or any export (through a mapping); seed demo data."""

from __future__ import annotations

from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from db import mapping as maps
from db.agent_store import AgentError
from leaderboard import hook_intake
from leaderboard import demo as seed
from db.ingest import ALL_COLUMNS, COLUMNS, MAX_KEPT_ERRORS
from db.retry import DatabaseBusy
from leaderboard.auth import may_administer
from leaderboard.settings import get_settings
from pages import access, common, loaders, nav, uploads
from pages.common import md

SAMPLE = common.APP_PATH.parent / "examples" / "ratings_sample.csv"
# Value maps the form offers (any column can have one in a TOML mapping).
VALUE_MAP_COLUMNS = ("stars", "resolved", "channel")
ORDER_LABELS = {"": "Only unambiguous dates (20/11, not 03/11)", "day-first": "Day first (03/11 is 3 November)",
                "month-first": "Month first (03/11 is 11 March)"}
ERROR_COLUMNS = {
    "line": st.column_config.NumberColumn("Line", format="%d", width=70),
    "column": st.column_config.TextColumn("Column", width="small"),
    "value": st.column_config.TextColumn("Value", width="medium"),
    "reason": st.column_config.TextColumn("Reason", width="large"),
}

nav.enter()
viewer = access.require_viewer(roles=("manager", "admin"))
settings = get_settings()
url = common.database_url()
counts = loaders.load_counts(url, common.data_version())

st.title("Data")
st.caption(
    f"Database {md(common.redacted_url(url))} · {counts['agents']:,} agents · {counts['ratings']:,} ratings"
)

# ---- import
st.subheader("Import ratings")
st.markdown(
    "A CSV (any delimiter and common encoding) or an Excel workbook, one row per closed interaction. "
    "An export from another system is mapped to Starboard's columns below; the mapping is remembered "
    "for the next file with the same columns. Every row is checked before anything is written, and "
    "re-importing a file, or one that overlaps it, doubles nothing: rows are matched by their interaction id."
)
with st.expander("Starboard's own columns", icon=":material/view_column:"):
    st.markdown(
        "`" + "`, `".join(COLUMNS) + "`, and optionally `leader` (the team leader's name) and "
        "`agent_external_id` (the agent's id in your own systems)\n\n"
        "Times are ISO 8601 (`2026-11-20T14:03:00Z`; without an offset they are taken as UTC). "
        "`stars` 1–5, `nps` 0–10, `resolved` yes/no, tags separated by `;`. Leave the rating columns "
        "empty when the customer did not answer: the row still counts for the response rate. "
        "Sites, teams and agents that do not exist yet are created. An agent is found by "
        "`agent_external_id` when the file has one, else by name within the row's site, ignoring case and "
        "accents; a file never moves an agent to another site. Rows outside your scope (another site's "
        "ratings, teams or agents; new sites or leader accounts, unless you are an admin) are rejected with "
        "their reason, and every import is written to the audit log. Very large exports load faster "
        "from the command line: `python -m leaderboard import FILE --mapping MAP.toml`."
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

upload = st.file_uploader(
    "Ratings file (.csv or .xlsx)",
    type=["csv", "txt", "tsv", "xlsx"],
    key="data_upload",
    max_upload_size=settings.max_upload_mb,
    help=f"Up to {settings.max_upload_mb} MB",
)


def _mapping_form(header: tuple[str, ...], initial: maps.Mapping, suffix: str) -> maps.Mapping | str:
    """Widgets for every canonical column, offering the file's own columns; the Mapping, or what is wrong."""
    choices = [maps.NOT_MAPPED, maps.CONSTANT, *header]
    times = [maps.NO_TIME, *header]
    sources: dict[str, maps.Source] = {}
    grid = st.columns(3)
    for i, canonical in enumerate(ALL_COLUMNS):
        choice, const, time_column = maps.column_choice(initial, canonical)
        label = f"{canonical}{' *' if canonical in maps.REQUIRED else ''}"
        with grid[i % 3]:
            picked = st.selectbox(
                label,
                choices,
                index=choices.index(choice) if choice in choices else 0,
                key=f"data_map_{canonical}_{suffix}",
            )
            value = ""
            if picked == maps.CONSTANT:
                value = st.text_input(f"{canonical} on every row", value=const, key=f"data_const_{canonical}_{suffix}")
            joined = maps.NO_TIME
            if canonical in maps.DATE_COLUMNS and picked not in (maps.NOT_MAPPED, maps.CONSTANT):
                joined = st.selectbox(
                    f"{canonical}: time in another column",
                    times,
                    index=times.index(time_column) if time_column in times else 0,
                    key=f"data_time_{canonical}_{suffix}",
                )
        source = maps.source_from_choice(picked, const=value, time_column=joined)
        if source is not None:
            sources[canonical] = source
    st.markdown("**Values, dates and rows**")
    left, right = st.columns(2)
    values: dict[str, dict[str, str]] = {}
    with left:
        for canonical in VALUE_MAP_COLUMNS:
            text = st.text_input(
                f"{canonical} values (file value = {canonical})",
                value=maps.value_map_text(initial.values.get(canonical, {})),
                placeholder={"stars": "good = 5, bad = 1", "resolved": "Y = yes, N = no", "channel": "Live Chat = chat"}[canonical],
                key=f"data_values_{canonical}_{suffix}",
            )
            try:
                pairs = maps.parse_value_map(text, column=canonical)
            except maps.MappingError as exc:
                return str(exc)
            if pairs:
                values[canonical] = pairs
        unrated_col, unrated_vals = _rule_widgets("Rows nobody rated: when column", "equals one of", initial.unrated_when,
                                                  header, f"data_unrated_{suffix}")
        skip_col, skip_vals = _rule_widgets("Rows to leave out: when column", "equals one of", initial.skip_when,
                                            header, f"data_skip_{suffix}")
    with right:
        order = st.selectbox(
            "Dates like 03/11/2026",
            list(ORDER_LABELS),
            index=list(ORDER_LABELS).index(initial.order or ""),
            format_func=ORDER_LABELS.get,
            key=f"data_order_{suffix}",
        )
        zones = ["UTC", *sorted(z for z in available_timezones() if "/" in z)]
        tz = st.selectbox(
            "Time zone of the file's times (when they carry no offset)",
            zones,
            index=zones.index(initial.timezone) if initial.timezone in zones else 0,
            key=f"data_tz_{suffix}",
        )
    for canonical in list(values):
        if canonical not in sources:
            del values[canonical]
    mapping = maps.Mapping(
        columns=sources,
        values=values,
        order=order or None,
        timezone=tz,
        unrated_when=(maps.Rule(unrated_col, unrated_vals),) if unrated_col and unrated_vals else (),
        skip_when=(maps.Rule(skip_col, skip_vals),) if skip_col and skip_vals else (),
        formats=initial.formats,
        encoding=initial.encoding,
        delimiter=initial.delimiter,
        sheet=initial.sheet,
        description=initial.description,
    )
    return mapping


def _rule_widgets(label: str, values_label: str, rules, header, key: str) -> tuple[str, tuple[str, ...]]:
    first = rules[0] if rules else None
    options = ["", *header]
    column = st.selectbox(
        label, options, index=options.index(first.column) if first and first.column in options else 0,
        format_func=lambda c: c or "— none —", key=f"{key}_col",
    )
    text = st.text_input(values_label, value=", ".join(first.equals) if first else "", placeholder="N, No",
                         key=f"{key}_vals", disabled=not column)
    return column, maps.rule_values(text) if column else ()


def _import(upload) -> None:
    """The upload: its size, columns, mapping, dry run, then the import on request."""
    too_big = maps.check_upload_size(upload.size, limit_mb=settings.max_upload_mb, name=upload.name)
    if too_big:
        st.error(md(too_big), icon=":material/block:")
        return
    data = upload.getvalue()
    first_look = uploads.upload_header(data, upload.name)
    if first_look.fatal:
        st.error(f"Nothing can be imported: {md(first_look.fatal)}", icon=":material/error:")
        return
    st.caption(f"{md(upload.name)}: {md(first_look.source)}, {len(first_look.header)} columns")

    if first_look.canonical:
        st.caption("The header names Starboard's own columns: no mapping needed.")
        mapping_toml, mapping_problem = None, None
    else:
        mapping_toml, mapping_problem = _choose_mapping(upload, first_look)

    allow_moves = False
    if mapping_problem:
        st.warning(md(mapping_problem), icon=":material/warning:")
    else:
        allow_moves = _dry_run(data, upload.name, mapping_toml)

    if st.button(
        f"Import this file ({common.human_size(upload.size)})",
        key="data_import",
        type="primary",
        icon=":material/upload:",
    ):
        if mapping_problem:
            st.error(f"Nothing was imported: {md(mapping_problem)}", icon=":material/error:")
            return
        _run_import(upload, data, mapping_toml, allow_moves=allow_moves)


def _choose_mapping(upload, first_look: uploads.UploadHeader) -> tuple[str | None, str | None]:
    """(the mapping as TOML, why there is none): from a mapping file, else from the form."""
    st.markdown("**Map the file's columns** (* required)")
    toml_upload = st.file_uploader(
        "…or use a mapping file (.toml)", type=["toml"], key="data_mapping_file",
        help="See examples/mappings/README.md for the format",
    )
    if toml_upload is not None:
        return _mapping_file(toml_upload)
    initial = maps.guess_mapping(list(first_look.header))
    saved = uploads.saved_mapping_text(first_look.header)
    if saved:
        try:
            initial = maps.parse_mapping(saved, name="the saved mapping")
            st.caption("Filled in from the mapping saved for files with these columns.")
        except maps.MappingError:
            pass  # a saved mapping that no longer reads: start from the guess
    suffix = maps.header_key(list(first_look.header))[-10:]
    built = _mapping_form(first_look.header, initial, suffix)
    if isinstance(built, str):
        return None, built
    if missing := maps.missing_required(built):
        return None, (
            f"{upload.name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            "pick the file's column for each (or a value for every row) above"
        )
    mapping_toml = built.to_toml()
    with st.expander("Mapping file (TOML)", icon=":material/code:"):
        st.code(mapping_toml, language="toml")
        st.download_button(
            "Download the mapping", data=mapping_toml.encode("utf-8"), file_name="mapping.toml",
            mime="application/toml", key="data_mapping_download", icon=":material/download:",
            on_click="ignore",
        )
    if st.button("Save this mapping for files with these columns", key="data_mapping_save",
                 icon=":material/bookmark:"):
        uploads.save_upload_mapping(first_look.header, built, viewer=viewer)
        st.success("Saved: the next file with these columns starts from it.", icon=":material/check_circle:")
    return mapping_toml, None


def _mapping_file(toml_upload) -> tuple[str | None, str | None]:
    """A mapping file is used as it is (its [file] options may name another sheet or encoding)."""
    try:
        text = toml_upload.getvalue().decode("utf-8-sig")
        maps.parse_mapping(text, name=toml_upload.name)
    except maps.MappingError as exc:
        return None, str(exc)
    except UnicodeDecodeError:
        return None, f"{toml_upload.name}: not UTF-8 text"
    st.caption(f"Using {md(toml_upload.name)}.")
    return text, None


def _dry_run(data: bytes, filename: str, mapping_toml: str | None) -> bool:
    """Every row checked without writing: the first rows as they will land, the rejected ones and the
    team moves the file asks for; True when the viewer ticked "make these moves"."""
    check = uploads.dry_run_upload(data, filename, mapping_toml, common.data_version())
    if check.fatal:
        st.error(f"Nothing can be imported: {md(check.fatal)}", icon=":material/error:")
        return False
    st.markdown("**As the rows will land** (the first 20)")
    st.dataframe(check.preview, key="data_preview", hide_index=True)
    skipped = f", {check.skipped:,} left out by the mapping" if check.skipped else ""
    st.caption(
        f"Checked without writing: {check.read:,} rows read, {check.valid:,} valid, "
        f"{check.rejected:,} rejected{skipped}."
    )
    if check.rejected:
        st.dataframe(check.errors, key="data_dry_errors", hide_index=True, column_config=ERROR_COLUMNS)
        st.download_button(
            "Download the rejected rows with their reasons (CSV)", data=check.rejects_csv.encode("utf-8"),
            file_name="rejected-rows.csv", mime="text/csv", key="data_dry_rejects_download",
            icon=":material/download:", on_click="ignore",
        )
    if not check.moves:
        return False
    n = len(check.moves)
    st.markdown(f"**{n} agent{'s' if n != 1 else ''} named under another team** of their site")
    st.dataframe(pd.DataFrame({"move": list(check.moves)}), key="data_moves", hide_index=True)
    return st.checkbox(
        f"Move {'them' if n != 1 else 'this agent'} (ratings from that date on count for the new team)",
        key="data_allow_moves",
        help="Unticked, the ratings still land and each agent keeps their team; the moves held back are listed "
        "and written to the audit log.",
    )


def _run_import(upload, data: bytes, mapping_toml: str | None, *, allow_moves: bool = False) -> None:
    """Import with a progress bar, then say how it went."""
    total = max(uploads.dry_run_upload(data, upload.name, mapping_toml, common.data_version()).read, 1)
    bar = st.progress(0.0, text="Importing…")

    def show(report) -> None:
        bar.progress(min(report.read / total, 1.0), text=f"Importing… {report.read:,} of {total:,} rows")

    try:
        report, rejects_csv = uploads.import_mapped_upload(
            engine=common.get_engine(), viewer=viewer, data=data, filename=upload.name, mapping_toml=mapping_toml,
            progress=show, allow_moves=allow_moves,
        )
    except DatabaseBusy as exc:  # other writers held the database past every retry
        bar.empty()
        st.warning(f"{str(exc).capitalize()}: rows already written stay, import the file again to finish.")
        return
    bar.empty()
    loaders.clear_data_caches()
    if report.fatal:
        st.error(f"Nothing was imported: {md(report.fatal)}", icon=":material/error:")
        return
    landed = report.inserted + report.updated + report.unchanged
    if report.rejected and not landed:
        st.error(
            f"None of the {report.rejected:,} rows landed: fix them in the file and import it again.",
            icon=":material/error:",
        )
    elif report.rejected:
        st.warning(
            f"Imported with {report.rejected:,} rejected row{'s' if report.rejected != 1 else ''}: "
            "download them below, fix them and import that file.",
            icon=":material/warning:",
        )
    else:
        st.success("Every row landed.", icon=":material/check_circle:")
    figures = [
        ("Read", report.read),
        ("Inserted", report.inserted),
        ("Updated", report.updated),
        ("Unchanged", report.unchanged),
        ("Rejected", report.rejected),
    ]
    if report.skipped:
        figures.append(("Left out", report.skipped))
    for col, (label, value) in zip(st.columns(len(figures)), figures):
        col.metric(label, f"{value:,}", border=True)
    if report.moves:
        st.info("Moved: " + "; ".join(md(m) for m in report.moves), icon=":material/swap_horiz:")
    if report.held_moves:
        st.warning(
            "Held back (the agents keep their team; tick the box to move them): "
            + "; ".join(md(m) for m in report.held_moves),
            icon=":material/block:",
        )
    if not report.errors:
        return
    if report.rejected > len(report.errors):
        st.caption(
            f"The first {MAX_KEPT_ERRORS:,} problems are listed; the download has every rejected row."
        )
    st.dataframe(uploads.errors_frame(report), key="data_errors", hide_index=True, column_config=ERROR_COLUMNS)
    st.download_button(
        "Download the rejected rows with their reasons (CSV)",
        data=rejects_csv.encode("utf-8"),
        file_name="rejected-rows.csv",
        mime="text/csv",
        key="data_errors_download",
        icon=":material/download:",
        on_click="ignore",
    )

if upload is not None:
    _import(upload)


# ---- help-desk webhooks: ratings whose agent id no link names yet
def _unmatched() -> None:
    """The unmatched queue, and (for an admin) the form that links an id to an agent and replays its ratings."""
    if news := st.session_state.pop("data_link_done", None):
        st.success(news, icon=":material/check_circle:")
    waiting = hook_intake.unmatched(engine=common.get_engine())
    with st.expander(f"Unmatched help-desk ratings ({sum(r['ratings'] for r in waiting):,})",
                     expanded=bool(waiting), icon=":material/link_off:"):
        st.caption(
            "Webhook ratings (/api/v1/hooks/…) whose agent id is not linked to an agent yet. Link the id and its "
            "ratings are written at once (also `python -m leaderboard agents link SOURCE EXTERNAL_ID AGENT`)."
        )
        if not waiting:
            st.markdown("Nothing is waiting.")
            return
        st.dataframe(
            pd.DataFrame(waiting), key="data_unmatched", hide_index=True,
            column_config={
                "source": st.column_config.TextColumn("Source"),
                "external_agent_id": st.column_config.TextColumn("Agent id at the source"),
                "external_agent_name": st.column_config.TextColumn("Name at the source"),
                "ratings": st.column_config.NumberColumn("Ratings", format="%d"),
                "latest": st.column_config.DatetimeColumn("Latest (UTC)"),
            },
        )
        if not may_administer(viewer):
            st.caption("An admin links an id to an agent.")
            return
        ids = [f"{r['source']} {r['external_agent_id']}" for r in waiting]
        with st.form("data_link_form", border=False):
            picked = st.selectbox("Help-desk agent id", ids, key="data_link_id")
            agent = st.text_input("Is Starboard agent (name or external id)", key="data_link_agent")
            site = st.text_input("Site (only when two sites have an agent of that name)", key="data_link_site")
            submitted = st.form_submit_button("Link and write the ratings", icon=":material/link:")
        if not submitted:
            return
        source, _, external_id = picked.partition(" ")
        try:
            done = hook_intake.link_and_replay(
                engine=common.get_engine(), viewer=viewer, source=source, external_id=external_id, agent=agent,
                site=site.strip() or None,
            )
        except AgentError as exc:
            st.error(md(str(exc)), icon=":material/error:")
            return
        loaders.clear_data_caches()
        if done.report.rejected:
            st.warning(
                f"Linked to {md(done.linked.agent)}, but the queued ratings were refused: "
                + "; ".join(md(e.problem) for e in done.report.errors), icon=":material/warning:")
        else:  # the list above is out of date: show it again, with the news
            st.session_state["data_link_done"] = (
                f"{md(source)} agent {md(external_id)} is {md(done.linked.agent)}: {done.replayed} rating(s) written.")
            st.rerun()


_unmatched()

# ---- demo data
if counts["agents"] == 0:
    st.divider()
    st.subheader("Demo data")
    st.markdown("The database is empty. Seed a demo contact center (sites, teams, agents and a few weeks of ratings) to look around.")
    if st.button("Seed demo data", key="data_seed", icon=":material/auto_awesome:"):
        with st.spinner("Seeding demo data…"):
            seed.seed_demo(engine=common.get_engine())
        loaders.clear_data_caches()
        st.success("Demo data is in. Open the Leaderboard.", icon=":material/check_circle:")
        st.page_link("pages/leaderboard.py", label="Leaderboard", icon=":material/leaderboard:")
