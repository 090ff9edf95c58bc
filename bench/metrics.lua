-- wrk script: a community's loop metrics. COMMUNITY_ID and TOKEN (a STAFF access token) come
-- from the environment.
local community = os.getenv("COMMUNITY_ID")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"query":"query($c: ID!) { communityMetrics(communityId: $c) { suggestionCount byKind { kind count } byStatus { status count } replyRate complaintReplyRate medianFirstResponseSeconds meanFirstResponseSeconds meanResolutionSeconds adoptionRate topContributorShare userSourcedReleaseShare } }","variables":{"c":"' .. community .. '"}}'

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) or not string.find(body, '"topContributorShare"', 1, true) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BAD_RESPONSES %d\n", total))
end
