-- wrk script: the top-20 suggestions of one community, with author and score.
-- COMMUNITY_ID comes from the environment.
local community = os.getenv("COMMUNITY_ID")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"query($c: ID!) { suggestions(communityId: $c, sort: TOP, first: 20) { edges { node { id title score author { handle } } } } }","variables":{"c":"' .. community .. '"}}'

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) or not string.find(body, '"edges"', 1, true) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BAD_RESPONSES %d\n", total))
end
