-- wrk script for bench/peer.py: the listing in LEGIT_FILE with every ATTACK_EVERY-th request one
-- of the abusive bodies in ATTACKS_FILE (one JSON body a line), taken in turn. Every abusive
-- document names its fields `abuse_…`, so a response is told by what it holds:
--   served  - HTTP 200, no "errors", an "abuse_" field: an abusive document answered
--   refused - an error with one of EXPECTED_CODES (comma-separated): an abusive one refused
--   good    - HTTP 200, no "errors", holds EXPECT: a normal listing answered
--   bad     - anything else: a failed normal request (or an abusive one that failed otherwise)
local function lines(path)
  local out = {}
  for line in io.lines(path) do if #line > 0 then table.insert(out, line) end end
  return out
end
local legit = lines(os.getenv("LEGIT_FILE"))[1]
local attacks = lines(os.getenv("ATTACKS_FILE"))
local every = tonumber(os.getenv("ATTACK_EVERY") or "20")
local expect = os.getenv("EXPECT") or '"edges"'
local expected = {}
for code in string.gmatch(os.getenv("EXPECTED_CODES") or "", "[^,]+") do
  table.insert(expected, '"' .. code .. '"')
end
local headers = { ["Content-Type"] = "application/json" }

local threads = {}
function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
function init(args)
  sent, good, bad, refused, served = 0, 0, 0, 0, 0
  legit_request = wrk.format("POST", "/graphql", headers, legit)
  attack_requests = {}
  for i, body in ipairs(attacks) do attack_requests[i] = wrk.format("POST", "/graphql", headers, body) end
end
function request()
  sent = sent + 1
  if every > 0 and #attack_requests > 0 and sent % every == 0 then
    return attack_requests[(math.floor(sent / every) + offset) % #attack_requests + 1]
  end
  return legit_request
end
function response(status, headers, body)
  local errors = string.find(body, '"errors"', 1, true)
  if status == 200 and not errors and string.find(body, '"abuse_', 1, true) then
    served = served + 1
    return
  end
  if errors then
    for _, code in ipairs(expected) do
      if string.find(body, code, 1, true) then
        refused = refused + 1
        return
      end
    end
  end
  if status == 200 and not errors and string.find(body, expect, 1, true) then
    good = good + 1
  else
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local g, b, r, s = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("good"); b = b + t:get("bad"); r = r + t:get("refused"); s = s + t:get("served")
  end
  io.write(string.format("COUNTS good=%d bad=%d refused=%d served=%d\n", g, b, r, s))
end
