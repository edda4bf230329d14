// One session: its summary, output (live while it runs) and audit timeline with the hash chain's
// status. The timeline comes from the session's event stream (history first, then live events).
import { ApiError, AuditEvent, AuditTrail, getJson, Session, SessionResult } from "../api";
import { bytes, h, ms, phaseBadge, replace, when } from "../dom";
import { fleetHref } from "../route";
import { follow } from "../sse";
import { notFound, PageContext, showError } from "./common";

function summary(s: Session): HTMLElement {
  const row = (k: string, v: Node | string | number) => h("tr", {}, h("th", {}, k), h("td", {}, v));
  return h(
    "table",
    { class: "kv", "data-testid": "summary" },
    h(
      "tbody",
      {},
      row("phase", phaseBadge(s.phase)),
      s.killReason ? row("kill reason", h("span", { class: "badge p-killed", "data-testid": "kill-reason" }, killText(s))) : null,
      s.exitCode !== undefined ? row("exit code", s.exitCode) : null,
      s.fleetId ? row("fleet", h("a", { href: fleetHref(s.fleetId) }, h("code", {}, s.fleetId))) : null,
      row("mode", `${s.execMode} · ${s.language}`),
      row("egress", s.egress.mode + (s.egress.allow.length ? " " + s.egress.allow.join(", ") : "") + (s.egress.killOnDenied ? " · kill on denied" : "")),
      row("limits", `${s.limits.memoryMb} MiB memory · ${s.limits.cpuMillis} mCPU · ${s.limits.pids} pids · ${s.limits.wallClockSeconds} s wall clock`),
      row("created", when(s.createdAt)),
      row("started", when(s.startedAt)),
      row("ended", when(s.endedAt)),
      s.turns ? row("turns", s.turns) : null,
      s.usage ? row("usage", `wall ${ms(s.usage.wallMs)} · CPU ${ms(s.usage.cpuMs)} · peak ${bytes(s.usage.peakMemoryBytes)}`) : null,
      row("torn down", s.tornDown ? "yes" : "no"),
    ),
  );
}

/** "wall_clock_exceeded (limit 2 s)": the reason and the limit it names, as the CLI says it. */
function killText(s: Session): string {
  const r = s.killReason ?? "";
  if (r === "wall_clock_exceeded") return `${r} (limit ${s.limits.wallClockSeconds} s)`;
  if (r === "memory_exceeded") return `${r} (limit ${s.limits.memoryMb} MiB)`;
  if (r === "pids_exceeded") return `${r} (limit ${s.limits.pids} processes)`;
  return r;
}

function eventItem(e: AuditEvent, linked: boolean): HTMLElement {
  const data = Object.keys(e.data ?? {}).length ? JSON.stringify(e.data) : "";
  return h(
    "li",
    { class: "ev ev-" + e.type, "data-type": e.type, "data-seq": e.seq },
    h("span", { class: "seq" }, "#" + e.seq),
    h("span", { class: "at" }, when(e.at)),
    h("span", { class: "type" }, e.type),
    h("span", { class: "msg" }, e.message),
    data ? h("code", { class: "data" }, data) : null,
    h("span", { class: linked ? "hash" : "hash broken", title: `hash ${e.hash}\nprevHash ${e.prevHash || "(none)"}` }, e.hash.slice(0, 10) + (linked ? "" : " ✗")),
  );
}

function chainBox(c?: AuditTrail["chain"]): HTMLElement {
  if (!c) return h("span", { class: "chain pending", "data-testid": "chain" }, "chain: checking…");
  return c.verified
    ? h("span", { class: "chain ok", "data-testid": "chain", "data-verified": "true", title: "head " + c.headHash }, `✓ chain verified · ${c.events} events · head #${c.headSeq} ${c.headHash.slice(0, 12)}`)
    : h("span", { class: "chain bad", "data-testid": "chain", "data-verified": "false" }, "✗ chain broken: " + c.problem);
}

export async function sessionPage(ctx: PageContext, id: string): Promise<void> {
  let s: Session;
  try {
    s = await getJson<Session>("/v1/sessions/" + encodeURIComponent(id));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return notFound(ctx.root, "Session", id);
    return showError(ctx, e);
  }
  const head = h("div", { class: "titlebar" }, h("h2", {}, "Session ", h("code", {}, s.name || id)));
  const sum = h("div");
  const stdout = h("pre", { class: "out", "data-testid": "stdout" });
  const stderr = h("pre", { class: "out err", "data-testid": "stderr" });
  const resultJson = h("pre", { class: "out", "data-testid": "result-json" });
  const chain = h("span");
  const timeline = h("ol", { class: "timeline", "data-testid": "timeline" });
  const live = h("span", { class: "live" });
  replace(
    ctx.root,
    h("div", { class: "cols" },
      h("section", { class: "card" }, head, sum),
      h("section", { class: "card" }, h("h3", {}, "Output"), h("h4", {}, "stdout"), stdout, h("h4", {}, "stderr"), stderr,
        h("h4", {}, "enclave.result()"), resultJson),
    ),
    h("section", { class: "card" }, h("div", { class: "titlebar" }, h("h3", {}, "Audit timeline"), chain, live), timeline),
  );
  const refresh = async () => {
    const [fresh, result] = await Promise.all([
      getJson<Session>("/v1/sessions/" + encodeURIComponent(id)),
      getJson<SessionResult>("/v1/sessions/" + encodeURIComponent(id) + "/result"),
    ]);
    s = fresh;
    replace(sum, summary(s));
    stdout.textContent = result.stdout + (result.truncated.stdout ? "\n… (truncated)" : "");
    stderr.textContent = result.stderr + (result.truncated.stderr ? "\n… (truncated)" : "");
    resultJson.textContent = result.json === null || result.json === undefined ? "(none)" : JSON.stringify(result.json, null, 2);
  };
  const verify = async () => {
    const trail = await getJson<AuditTrail>("/v1/sessions/" + encodeURIComponent(id) + "/audit");
    replace(chain, chainBox(trail.chain));
  };
  try {
    await refresh();
    replace(chain, chainBox());
    void verify().catch(() => undefined);
    let prevHash = "";
    live.textContent = "● live";
    live.className = "live on";
    await follow(
      "/v1/sessions/" + encodeURIComponent(id) + "/events",
      (e) => {
        if (e.event === "audit") {
          const ev = JSON.parse(e.data) as AuditEvent;
          timeline.appendChild(eventItem(ev, ev.prevHash === prevHash));
          prevHash = ev.hash;
        } else if (e.event === "output") {
          const o = JSON.parse(e.data) as { stream: string; data: string };
          (o.stream === "stderr" ? stderr : stdout).textContent += o.data;
        }
      },
      ctx.signal,
    );
    live.textContent = "";
    live.className = "live";
    await Promise.all([refresh(), verify()]);
  } catch (e) {
    showError(ctx, e);
  }
}
