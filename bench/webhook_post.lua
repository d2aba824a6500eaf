-- SPDX-License-Identifier: Apache-2.0
-- wrk script of bench/bench_webhook.sh: POSTs pre-signed Jira webhook bodies
-- to the daemon, rotating through them, each request with its own delivery id.
-- Nothing is computed here: the bodies and their X-Hub-Signature values come
-- from the file named by WEBHOOK_BODIES ("<signature>\t<body>" per line).
--
-- usage: WEBHOOK_BODIES=FILE wrk -s bench/webhook_post.lua URL

local bodies, sigs = {}, {}
local counter = 0
local thread_id = 0
local threads = {}
local next_thread = 0

function setup(thread)
	thread:set("tid", next_thread)
	next_thread = next_thread + 1
	table.insert(threads, thread)
end

function init(args)
	thread_id = tid or 0
	local path = os.getenv("WEBHOOK_BODIES")
	local f = assert(io.open(path, "r"), "cannot open WEBHOOK_BODIES")
	for line in f:lines() do
		local tab = line:find("\t", 1, true)
		if tab then
			table.insert(sigs, line:sub(1, tab - 1))
			table.insert(bodies, line:sub(tab + 1))
		end
	end
	f:close()
	assert(#bodies > 0, "no bodies in WEBHOOK_BODIES")
	-- Threads start at different places in the rotation.
	counter = thread_id * 7919
end

function request()
	counter = counter + 1
	local i = (counter % #bodies) + 1
	local headers = {
		["Content-Type"] = "application/json; charset=utf-8",
		["X-Hub-Signature"] = sigs[i],
		["X-Atlassian-Webhook-Identifier"] = string.format("bench-%d-%d", thread_id, counter),
	}
	return wrk.format("POST", nil, headers, bodies[i])
end

function done(summary, latency, requests)
	local non2xx = summary.errors.status
	local errors = summary.errors.connect + summary.errors.read + summary.errors.write
		+ summary.errors.timeout
	io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
		.. "non2xx=%d socket_errors=%d\n",
		summary.requests, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
		non2xx, errors))
end
