-- wrk script for bench/peer.py: one fixed GraphQL request (the JSON body in BODY_FILE, one
-- line). A response counts as good when it is HTTP 200, holds no "errors" and holds EXPECT.
-- With UNIQUE=1 every request's body differs (an "extensions" member with a number of its own),
-- so no server can send an answer it kept for an earlier one.
local function first_line(path)
  for line in io.lines(path) do if #line > 0 then return line end end
  error("empty body file " .. path)
end

local body = first_line(os.getenv("BODY_FILE"))
local expect = os.getenv("EXPECT") or '"data"'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = body

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args) good, bad, sent = 0, 0, 0 end
if os.getenv("UNIQUE") == "1" then
  local open = string.sub(body, 1, #body - 1)
  function request()
    sent = sent + 1
    return wrk.format(nil, nil, nil, open .. ',"extensions":{"n":"' .. tid .. '-' .. sent .. '"}}')
  end
end
function response(status, headers, body)
  if status == 200 and not string.find(body, '"errors"', 1, true) and string.find(body, expect, 1, true) then
    good = good + 1
  else
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  io.write(string.format("COUNTS good=%d bad=%d refused=0 served=0\n", g, b))
end
