/// The console's script and style sheet, served from the node itself (no build step, nothing fetched
/// from elsewhere). The script re-renders what the server rendered, from `/console/api/…`, every
/// `refreshMilliseconds`; it writes text with `textContent`, never as HTML.
enum ConsoleAssets {
    static let script = #"""
        "use strict";
        const refreshMilliseconds = 5000;
        const page = document.body.dataset.page;
        const name = document.body.dataset.name;

        function el(tag, attrs, ...children) {
          const node = document.createElement(tag);
          for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
          for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
          return node;
        }
        function link(queue) { return el("a", { href: "/console/queues/" + encodeURIComponent(queue) }, queue); }
        function age(seconds) {
          if (seconds < 1) return "\u2014";
          if (seconds < 120) return seconds + " s";
          if (seconds < 7200) return Math.floor(seconds / 60) + " min";
          if (seconds < 172800) return Math.floor(seconds / 3600) + " h";
          return Math.floor(seconds / 86400) + " d";
        }
        function time(ms) { return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"); }
        function sparkline(rates) {
          const ns = "http://www.w3.org/2000/svg";
          const svg = document.createElementNS(ns, "svg");
          svg.setAttribute("class", "sparkline"); svg.setAttribute("width", "120"); svg.setAttribute("height", "24");
          svg.setAttribute("role", "img");
          const cell = document.createDocumentFragment();
          cell.append(svg);
          if (rates.length < 2) { svg.setAttribute("aria-label", "no samples yet"); return cell; }
          const top = Math.max(1, ...rates);
          const points = rates.map((rate, i) => (i * 120 / (rates.length - 1)).toFixed(1) + "," + (23 - rate / top * 22).toFixed(1));
          const line = document.createElementNS(ns, "polyline");
          line.setAttribute("points", points.join(" "));
          svg.append(line);
          const last = rates[rates.length - 1].toFixed(1);
          svg.setAttribute("aria-label", last + " sent per second");
          cell.append(" ", el("span", { class: "rate" }, last + "/s"));
          return cell;
        }
        function fill(tbody, rows, columns, emptyText) {
          tbody.replaceChildren(...(rows.length ? rows : [el("tr", { class: "empty" }, el("td", { colspan: columns, class: "muted" }, emptyText))]));
        }
        function cells(...values) { return values.map(v => v instanceof Node ? v : el("td", {}, v)); }
        function num(value, cls) { return el("td", { class: "n " + (cls || "") }, value); }

        async function get(path) {
          const response = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
          if (!response.ok) throw new Error(path + ": " + response.status + " " + (await response.text()));
          return response.json();
        }

        function renderQueues(queues) {
          fill(document.querySelector("#queues tbody"), queues.map(q => {
            const row = el("tr", { "data-queue": q.name }, el("td", { class: "name" }, link(q.name)),
              el("td", {}, q.fifo ? "FIFO" : "Standard"), num(q.visible, "visible"), num(q.inFlight, "in-flight"),
              num(q.delayed, "delayed"), num(age(q.oldestAgeSeconds), "oldest"),
              el("td", { class: "dlq" }, q.deadLetterQueue ? link(q.deadLetterQueue) : ""),
              el("td", { class: "sources" }, ...q.sources.flatMap((s, i) => i ? [" ", link(s)] : [link(s)])),
              el("td", { class: "spark" }, sparkline(q.history)));
            return row;
          }), 9, "No queues yet.");
        }

        function renderQueue(details) {
          const q = details.queue;
          document.getElementById("visible").textContent = q.visible;
          document.getElementById("in-flight").textContent = q.inFlight;
          document.getElementById("delayed").textContent = q.delayed;
          document.getElementById("oldest").textContent = age(q.oldestAgeSeconds);
          fill(document.querySelector("#move-tasks tbody"), details.moveTasks.map(t => el("tr", {},
            el("td", { class: "status" }, t.status), num(t.moved), num(t.toMove), el("td", {}, time(t.started)),
            el("td", {}, t.failureReason))), 5, "No move tasks.");
        }

        function renderMessages(messages) {
          fill(document.querySelector("#messages tbody"), messages.map(m => el("tr", {},
            el("td", { class: "id" }, m.messageId), el("td", {}, time(m.sent)), num(m.receiveCount),
            el("td", {}, m.state), el("td", {}, el("pre", { class: "body" }, m.body)))), 5, "No messages.");
        }

        function renderCluster(view) {
          const nodes = view.cluster ? view.cluster.Nodes : [{ Id: view.node, State: "alone", PeerAddress: "", SqsAddress: "" }];
          const links = Object.fromEntries(view.links.map(l => [l.node, l.up]));
          fill(document.querySelector("#nodes tbody"), nodes.map(n => {
            const state = n.Id === view.node ? "this node" : (n.Id in links ? (links[n.Id] ? "up" : "down") : "none");
            return el("tr", {}, ...cells(n.Id, n.State, n.PeerAddress, n.SqsAddress), el("td", { class: state === "down" ? "bad" : "" }, state));
          }), 5, "No nodes.");
          const replicas = Object.fromEntries(view.replicas.map(r => [r.Group, r]));
          const groups = view.cluster ? view.cluster.Groups : view.replicas.map(r => ({ Id: r.Group, Voters: r.Voters, Moving: false, Metadata: false }));
          fill(document.querySelector("#shards tbody"), groups.map(g => {
            const r = replicas[g.Id];
            const leader = r ? (r.Leader === 0 ? "none" : String(r.Leader)) : "\u2014";
            const lag = r ? r.Followers.map(f => f.Node + ": " + Math.max(0, r.CommitIndex - f.Match)).join(", ") : "";
            return el("tr", {}, el("td", {}, g.Metadata ? "metadata" : g.Id), el("td", {}, g.Voters.join(", ")),
              el("td", { class: leader === "none" ? "bad" : "" }, leader), num(r ? r.Term : ""), num(r ? r.CommitIndex : ""),
              el("td", {}, lag), el("td", {}, g.Moving ? "moving" : ""));
          }), 7, "No shards.");
        }

        async function refresh() {
          const status = document.getElementById("updated");
          try {
            if (page === "queues") renderQueues(await get("/console/api/queues"));
            else if (page === "queue") renderQueue(await get("/console/api/queues/" + encodeURIComponent(name)));
            else if (page === "cluster") renderCluster(await get("/console/api/cluster"));
            status.textContent = "updated " + new Date().toLocaleTimeString();
            status.classList.remove("bad");
          } catch (error) {
            status.textContent = "refresh failed: " + error.message;
            status.classList.add("bad");
          }
        }

        async function peek() {
          try { renderMessages(await get("/console/api/queues/" + encodeURIComponent(name) + "/messages")); }
          catch (error) { document.getElementById("updated").textContent = "peek failed: " + error.message; }
        }

        async function redrive(button) {
          const status = document.getElementById("redrive-status");
          button.disabled = true;
          status.textContent = "starting\u2026";
          try {
            const response = await fetch("/console/api/queues/" + encodeURIComponent(name) + "/redrive", {
              method: "POST", credentials: "same-origin", headers: { "X-Ferry-Console": "redrive" } });
            const text = await response.text();
            if (!response.ok) throw new Error(text.trim());
            status.textContent = "redrive started";
            status.classList.remove("bad");
            await refresh();
          } catch (error) {
            status.textContent = "redrive failed: " + error.message;
            status.classList.add("bad");
          } finally {
            button.disabled = false;
          }
        }

        const redriveButton = document.getElementById("redrive");
        if (redriveButton) redriveButton.addEventListener("click", () => redrive(redriveButton));
        const peekButton = document.getElementById("peek");
        if (peekButton) peekButton.addEventListener("click", peek);
        setInterval(refresh, refreshMilliseconds);
        """#

    static let style = """
        :root { color-scheme: light; --ink: #1d2733; --muted: #6b7785; --line: #dde3ea; --accent: #0b6bcb; --bad: #b3261e; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f8fa; }
        header { display: flex; gap: 24px; align-items: center; padding: 10px 24px; background: #14212e; color: #fff; }
        header a { color: #cfe3f7; margin-right: 16px; text-decoration: none; }
        header #updated { margin-left: auto; color: #9fb0c2; }
        main { padding: 16px 24px 40px; max-width: 1280px; }
        h1 { font-size: 22px; margin: 8px 0 12px; } h2 { font-size: 16px; margin: 24px 0 8px; }
        .muted { color: var(--muted); font-weight: normal; } .bad { color: var(--bad); font-weight: 600; }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        thead th { background: #eef2f6; font-weight: 600; font-size: 13px; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        a { color: var(--accent); }
        table.kv th { width: 320px; font-weight: 500; color: var(--muted); }
        .counts { display: flex; gap: 12px; margin: 12px 0; }
        .counts div { background: #fff; border: 1px solid var(--line); padding: 10px 16px; min-width: 130px; color: var(--muted); }
        .counts b { display: block; font-size: 22px; color: var(--ink); }
        pre.body { margin: 0; white-space: pre-wrap; word-break: break-all; max-height: 8em; overflow: auto; font-size: 12px; }
        td.id { font-family: ui-monospace, monospace; font-size: 12px; }
        svg.sparkline { vertical-align: middle; background: #f3f6f9; }
        svg.sparkline polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
        .rate { color: var(--muted); font-size: 12px; }
        button { font: inherit; padding: 4px 12px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 3px; cursor: pointer; }
        button:disabled { opacity: 0.5; }
        h2 button { font-size: 12px; padding: 2px 8px; margin-left: 8px; background: #fff; color: var(--accent); }
        """
}
