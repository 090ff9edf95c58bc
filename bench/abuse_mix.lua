-- wrk script for bench/abuse.py: the legitimate top-20 listing (the JSON body in LEGIT_FILE),
-- with every ATTACK_EVERY-th request (0: none) one of the hostile bodies in ATTACKS_FILE (one
-- JSON body a line), taken in turn. Responses are sorted by what they hold: a listing without
-- errors, a refusal with an expected code (EXPECTED_CODES, comma-separated), anything else.
local function lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  for line in io.lines(path) do if #line > 0 then table.insert(out, line) end end
  return out
end

local legit = lines(os.getenv("LEGIT_FILE"))[1]
local attacks = lines(os.getenv("ATTACKS_FILE"))
local every = tonumber(os.getenv("ATTACK_EVERY") or "0")
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
  sent, listed, refused, unexpected = 0, 0, 0, 0
  legit_request = wrk.format("POST", "/graphql", headers, legit)
  attack_requests = {}
  for i, body in ipairs(attacks) do attack_requests[i] = wrk.format("POST", "/graphql", headers, body) end
end

function request()
  sent = sent + 1
  if every > 0 and #attack_requests > 0 and sent % every == 0 then
    local k = (math.floor(sent / every) + offset) % #attack_requests + 1
    return attack_requests[k]
  end
  return legit_request
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"edges"', 1, true) and not string.find(body, '"errors"', 1, true) then
    listed = listed + 1
    return
  end
  for _, code in ipairs(expected) do
    if string.find(body, code, 1, true) then
      refused = refused + 1
      return
    end
  end
  unexpected = unexpected + 1
end

function done(summary, latency, requests)
  local l, r, u = 0, 0, 0
  for _, t in ipairs(threads) do
    l = l + t:get("listed")
    r = r + t:get("refused")
    u = u + t:get("unexpected")
  end
  io.write(string.format("ABUSE_COUNTS listed=%d refused=%d unexpected=%d\n", l, r, u))
end
