-- wrk script: a pricing poll's Van Westendorp results. POLL_ID comes from the environment.
local poll = os.getenv("POLL_ID")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"query($p: ID!) { pricingPoll(id: $p) { ballotCount results { vanWestendorp { marginalCheapness optimalPrice indifferencePrice marginalExpensiveness validResponses } } } }","variables":{"p":"' .. poll .. '"}}'

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) or not string.find(body, '"optimalPrice"', 1, true) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BAD_RESPONSES %d\n", total))
end
