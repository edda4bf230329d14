// One fleet's live member grid: the same tiles as `enclave fleet watch`, kept current by the
// fleet's event stream (GET /v1/fleets/{id}/events: `fleet` once, then `members` deltas).
import { ApiError, Fleet, FleetMember, getJson, Session } from "../api";
import { h, replace, when } from "../dom";
import { sessionHref } from "../route";
import { follow } from "../sse";
import { fleetTerminal, gridRows, progressText, TILES, tileFor } from "../tiles";
import { countsBar, countsText } from "./fleets";
import { notFound, PageContext, pause, showError } from "./common";
import { usageTable } from "./usage";

/** Applies a `members` delta: absolute phases for the listed members, fresh counts and phase. */
export function mergeDelta(f: Fleet, d: Fleet): Fleet {
  const byIndex = new Map(f.members.map((m) => [m.index, m]));
  for (const m of d.members) byIndex.set(m.index, m);
  return { ...f, phase: d.phase, counts: d.counts, members: [...byIndex.values()] };
}

function tile(m: FleetMember): HTMLAnchorElement {
  return h(
    "a",
    { class: "tile t-" + m.phase, href: sessionHref(m.sessionId), "data-index": m.index, "data-phase": m.phase, title: `#${m.index} ${m.phase} — ${m.sessionId}` },
    tileFor(m.phase),
  );
}

export function legend(): HTMLElement {
  return h(
    "div",
    { class: "legend", "data-testid": "legend" },
    ...TILES.map(([phase, t]) => h("span", { "data-phase": phase, "data-tile": t }, h("span", { class: "tile t-" + phase }, t), " " + phase)),
  );
}

export async function fleetPage(ctx: PageContext, id: string): Promise<void> {
  let fleet: Fleet;
  try {
    fleet = await getJson<Fleet>("/v1/fleets/" + encodeURIComponent(id));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return notFound(ctx.root, "Fleet", id);
    return showError(ctx, e);
  }
  const title = h("h2", {}, "Fleet ", h("span", { "data-testid": "fleet-name" }, fleet.name || "(unnamed)"));
  const phase = h("span", { "data-testid": "fleet-phase-box" });
  const live = h("span", { class: "live", "data-testid": "live" });
  const counts = h("p", { class: "counts", "data-testid": "counts" });
  const bar = h("div");
  const grid = h("div", { class: "grid", "data-testid": "grid" });
  const usage = h("div");
  replace(
    ctx.root,
    h(
      "section",
      { class: "card" },
      h("div", { class: "titlebar" }, title, phase, live),
      h("p", { class: "muted" }, h("code", {}, fleet.id), " · created ", when(fleet.createdAt), " · ", fleet.members.length + " members"),
      counts,
      bar,
    ),
    h("section", { class: "card" }, h("h3", {}, "Members"), grid, legend()),
    usage,
  );

  const tiles = new Map<number, HTMLAnchorElement>();
  const draw = (full: boolean) => {
    replace(phase, h("span", { "data-testid": "fleet-phase", class: "badge p-" + fleet.phase }, fleet.phase));
    counts.textContent = countsText(fleet) + "  —  " + progressText(fleet.counts, fleet.members.length);
    replace(bar, countsBar(fleet));
    if (full || tiles.size !== fleet.members.length) {
      tiles.clear();
      replace(
        grid,
        ...gridRows(fleet.members).map(([first, ms]) =>
          h("div", { class: "row" }, h("span", { class: "rowlabel" }, String(first)), ...ms.map((m) => {
            const t = tile(m);
            tiles.set(m.index, t);
            return t;
          })),
        ),
      );
    }
  };
  // What the member list does not carry: each member's name and kill reason, from the session
  // list (for the tooltip, and a tile style per kill reason: a wall-clock kill and a memory kill
  // are both "K" but must not look the same).
  const annotate = (sessions: Session[]) => {
    const bySession = new Map(sessions.map((s) => [s.id, s]));
    for (const m of fleet.members) {
      const t = tiles.get(m.index);
      const s = bySession.get(m.sessionId);
      if (!t || !s) continue;
      const reason = s.killReason ?? "";
      t.title = `#${m.index}${s.name ? " " + s.name : ""} — ${s.phase}${reason ? " (" + reason + ")" : ""} — ${m.sessionId}`;
      if (reason) {
        t.dataset.reason = reason;
        t.classList.add("r-" + reason);
      }
    }
  };
  const update = (m: FleetMember) => {
    const t = tiles.get(m.index);
    if (!t) return;
    t.className = "tile t-" + m.phase;
    t.dataset.phase = m.phase;
    t.textContent = tileFor(m.phase);
    t.title = `#${m.index} ${m.phase} — ${m.sessionId}`;
  };
  draw(true);

  // Follow the stream; reconnect (bounded pause) if it drops before the fleet is final.
  while (!ctx.signal.aborted && !fleetTerminal(fleet.phase)) {
    live.textContent = "● live";
    live.className = "live on";
    try {
      await follow(
        "/v1/fleets/" + encodeURIComponent(id) + "/events",
        (e) => {
          if (e.event === "fleet") {
            fleet = JSON.parse(e.data) as Fleet;
            draw(true);
          } else if (e.event === "members") {
            const d = JSON.parse(e.data) as Fleet;
            fleet = mergeDelta(fleet, d);
            d.members.forEach(update);
            draw(false);
          }
        },
        ctx.signal,
      );
    } catch (e) {
      if (ctx.signal.aborted) return;
      if (e instanceof ApiError) return showError(ctx, e);
    }
    if (!fleetTerminal(fleet.phase)) await pause(1000, ctx.signal);
  }
  live.textContent = fleetTerminal(fleet.phase) ? "final" : "";
  live.className = "live";
  if (ctx.signal.aborted) return;
  try {
    const sessions = await fleetSessions(id);
    annotate(sessions);
    replace(usage, h("section", { class: "card" }, h("h3", {}, "Usage of this fleet"), usageTable(sessions)));
  } catch (e) {
    showError(ctx, e);
  }
}

/** Every member session of a fleet (pages of 1000). */
async function fleetSessions(id: string): Promise<Session[]> {
  const out: Session[] = [];
  let cursor = "";
  for (let page = 0; page < 20; page++) {
    const q = `/v1/sessions?fleetId=${encodeURIComponent(id)}&limit=1000` + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    const r = await getJson<{ sessions: Session[]; nextCursor: string }>(q);
    out.push(...r.sessions);
    if (!r.nextCursor) break;
    cursor = r.nextCursor;
  }
  return out;
}


