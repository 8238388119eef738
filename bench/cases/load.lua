-- wrk script of bench_load.py: signed-in agents open cases.
--
-- wrk -s load.lua <url> -- <targets file> <mean think ms> <mode>
--
-- targets file: one line per (agent, case in the agent's scope):
--   <session cookie "name=value"> TAB <case page path> TAB <customer panel path>
-- mode "view": each case is opened as a browser does it: the page, then its customer panel
--   (with HX-Request), so requests alternate page / panel; "page": the case page only.
-- think: each connection (an agent) waits an exponentially distributed time with this mean
--   before its next request (0: closed loop, as fast as answers come). bench_load.py runs wrk
--   closed loop only: with think time wrk holds an idle connection open, which ties up a
--   gunicorn sync worker (see bench_load.py); its paced phases use an open-loop driver.
-- Requests rotate over every line, so every agent's session and many cases are used; each
-- thread starts at a different line. Statuses are counted per class; anything but 200 is an
-- error (a redirect would be the sign-in or MFA page). done() prints one line: WRKJSON {...}.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_no", counter)
   table.insert(threads, thread)
end

function init(args)
   targets = {}
   local f = assert(io.open(args[1], "r"))
   for line in f:lines() do
      local cookie, page, panel = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
      if cookie then
         table.insert(targets, { cookie, page, panel })
      end
   end
   f:close()
   think_ms = tonumber(args[2]) or 0
   mode = args[3] or "view"
   position = ((thread_no or 1) * 7919) % #targets
   step = 0
   math.randomseed((thread_no or 1) * 1000 + 17)
   n200, n3xx, n4xx, n5xx, nother = 0, 0, 0, 0, 0
end

function request()
   step = step + 1
   local panel_turn = (mode == "view" and step % 2 == 0)
   if not panel_turn then
      position = position % #targets + 1
   end
   local t = targets[position]
   if panel_turn then
      return wrk.format("GET", t[3], { ["Cookie"] = t[1], ["HX-Request"] = "true" })
   end
   return wrk.format("GET", t[2], { ["Cookie"] = t[1] })
end

function delay()
   if think_ms <= 0 then
      return 0
   end
   return math.floor(-math.log(1 - math.random()) * think_ms)
end

function response(status, headers, body)
   if status == 200 then
      n200 = n200 + 1
   elseif status >= 300 and status < 400 then
      n3xx = n3xx + 1
   elseif status >= 400 and status < 500 then
      n4xx = n4xx + 1
   elseif status >= 500 then
      n5xx = n5xx + 1
   else
      nother = nother + 1
   end
end

function done(summary, latency, requests)
   local c = { n200 = 0, n3xx = 0, n4xx = 0, n5xx = 0, nother = 0 }
   for _, thread in ipairs(threads) do
      for k, _ in pairs(c) do
         c[k] = c[k] + (thread:get(k) or 0)
      end
   end
   local e = summary.errors
   local parts = {
      string.format('"requests": %d', summary.requests),
      string.format('"duration_us": %d', summary.duration),
      string.format('"bytes": %d', summary.bytes),
      string.format('"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}',
                    e.connect, e.read, e.write, e.timeout),
      string.format('"non_2xx_3xx": %d', e.status),
      string.format('"status": {"200": %d, "3xx": %d, "4xx": %d, "5xx": %d, "other": %d}',
                    c.n200, c.n3xx, c.n4xx, c.n5xx, c.nother),
      string.format('"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
                    '"p50": %d, "p75": %d, "p90": %d, "p95": %d, "p99": %d, "p99.9": %d}',
                    latency.min, latency.mean, latency.stdev, latency.max,
                    latency:percentile(50), latency:percentile(75), latency:percentile(90),
                    latency:percentile(95), latency:percentile(99), latency:percentile(99.9)),
   }
   io.write("WRKJSON {" .. table.concat(parts, ", ") .. "}\n")
end
