--[[
rap-ipynb.lua: pandoc Lua filter that turns executed Jupyter notebooks (read with
`pandoc -f ipynb --ipynb-output=all`) into a publication document, doing for the
pandoc backend what Quarto does for the Quarto backend.

For every code cell (a top-level Div with classes `cell code`):
  * cells tagged `parameters`, `injected-parameters` or `remove-cell` are dropped
    with all their outputs;
  * `#|` cell options at the top of the source are read as YAML (`label`,
    `tbl-cap`, `fig-cap`, `fig-alt`, `echo`, `output`, `include`);
  * the source is dropped unless the cell says `echo: true` (reviewers never see
    code by default);
  * each output keeps its best representation: text/markdown (parsed as pandoc
    Markdown, so `output: asis` tables and figures become real elements) >
    image > text/html (parsed, so pandas HTML tables become real tables) >
    text/plain; stderr and error outputs are dropped;
  * a `tbl-` label / `tbl-cap` goes on the first table, a `fig-` label /
    `fig-cap` / `fig-alt` on the first image.
Then tables and figures with `tbl-` / `fig-` identifiers are numbered within
their chapter, as a Quarto book numbers them ("Table 2.3": the 3rd table after
the 2nd level-1 heading not marked `.unnumbered`), and `@tbl-x` / `@fig-x` in the
text become "Table 2.3" / "Figure 2.1" links (for Typst: native `@tbl-x`
references; a raw block before each numbered chapter steps the `rap-chapter`
counter that the Typst header's figure numbering reads). Unresolved references are shown as `?@label` (as Quarto does) and
reported on stderr.
For HTML, every table is wrapped in a scroll container (`div.table-wrap`,
`role="region"`, `tabindex="0"`, `aria-label` = its caption): at 320 CSS px a
wide table scrolls inside it, not the page (WCAG 1.4.10), and keyboard users
can focus and scroll it (WCAG 2.1.1).
]]

local stringify = pandoc.utils.stringify
local is_typst = FORMAT:match("typst") ~= nil
local is_html = FORMAT:match("html") ~= nil

local DROP_TAGS = { ["parameters"] = true, ["injected-parameters"] = true, ["remove-cell"] = true }

local function warn(msg)
  io.stderr:write("[rap-ipynb] " .. msg .. "\n")
end

local function has_class(el, cls)
  for _, c in ipairs(el.classes) do
    if c == cls then return true end
  end
  return false
end

-- tags arrive as a JSON-ish string attribute, e.g. '["parameters"]'
local function cell_tags(div)
  local tags = {}
  local raw = div.attributes["tags"]
  if raw then
    for t in raw:gmatch('"([^"]+)"') do tags[t] = true end
  end
  return tags
end

-- Read leading `#|` lines as YAML via pandoc's own YAML metadata parser.
local function parse_options(src)
  local yaml_lines, rest, in_header = {}, {}, true
  for line in (src .. "\n"):gmatch("(.-)\n") do
    if in_header and line:match("^%s*#|") then
      table.insert(yaml_lines, (line:gsub("^%s*#|%s?", "", 1)))
    else
      in_header = false
      table.insert(rest, line)
    end
  end
  local opts = {}
  if #yaml_lines > 0 then
    local ok, parsed = pcall(pandoc.read,
      "---\n" .. table.concat(yaml_lines, "\n") .. "\n---\n", "markdown")
    if ok then
      opts = parsed.meta
    else
      warn("could not parse cell options: " .. table.concat(yaml_lines, "; "))
    end
  end
  return opts, table.concat(rest, "\n")
end

local function opt_bool(opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if type(v) == "boolean" then return v end
  local s = stringify(v)
  if s == "true" then return true end
  if s == "false" then return false end
  return default
end

local function opt_inlines(v)
  if v == nil then return nil end
  if type(v) == "string" then return pandoc.Inlines(v) end
  if pandoc.utils.type(v) == "Inlines" then return v end
  if pandoc.utils.type(v) == "Blocks" then return pandoc.utils.blocks_to_inlines(v) end
  return pandoc.Inlines(stringify(v))
end

-- Pick the best representation inside one output Div.
local function best_output(out)
  local md, img, html, plain = nil, nil, nil, nil
  for _, b in ipairs(out.content) do
    if b.t == "RawBlock" and b.format == "markdown" and not md then
      md = b.text
    elseif b.t == "RawBlock" and b.format == "html" and not html then
      html = b.text
    elseif (b.t == "Para" or b.t == "Plain") and not img then
      local found = false
      b:walk({ Image = function() found = true end })
      if found then img = b end
    elseif b.t == "CodeBlock" and not plain then
      plain = b
    end
  end
  if md then return pandoc.read(md, "markdown").blocks end
  if img then return pandoc.Blocks({ img }) end
  if html then return pandoc.read(html, "html").blocks end
  if plain then return pandoc.Blocks({ plain }) end
  return pandoc.Blocks({})
end

-- Put id/caption on the first table; returns true when a table was found.
local function label_table(blocks, label, cap)
  local done = false
  blocks = blocks:walk({
    Table = function(tbl)
      if done then return nil end
      done = true
      if label and tbl.identifier == "" then tbl.identifier = label end
      if cap and #tbl.caption.long == 0 then
        tbl.caption.long = pandoc.Blocks({ pandoc.Plain(cap) })
      end
      return tbl
    end,
  })
  return blocks, done
end

-- Turn the first image into a Figure with id, caption and alt text.
local function label_figure(blocks, label, cap, alt)
  local done = false
  local result = pandoc.Blocks({})
  for _, b in ipairs(blocks) do
    if not done and b.t == "Figure" then
      done = true
      if label and b.identifier == "" then b.identifier = label end
      if cap and #b.caption.long == 0 then b.caption.long = pandoc.Blocks({ pandoc.Plain(cap) }) end
      if alt then
        b = b:walk({ Image = function(im) im.attributes["fig-alt"] = stringify(alt); return im end })
      end
      result:insert(b)
    elseif not done and (b.t == "Para" or b.t == "Plain") then
      local image = nil
      b:walk({ Image = function(im) if not image then image = im end end })
      if image then
        done = true
        if alt then image.attributes["fig-alt"] = stringify(alt) end
        local fig = pandoc.Figure(pandoc.Plain({ image }),
          cap and pandoc.Blocks({ pandoc.Plain(cap) }) or nil,
          pandoc.Attr(label or "", {}, {}))
        result:insert(fig)
      else
        result:insert(b)
      end
    else
      result:insert(b)
    end
  end
  return result, done
end

local function process_code_cell(div)
  local tags = cell_tags(div)
  for t, _ in pairs(tags) do
    if DROP_TAGS[t] then return pandoc.Blocks({}) end
  end
  local opts, src, outputs = {}, "", {}
  for _, b in ipairs(div.content) do
    if b.t == "CodeBlock" and not has_class(b, "output") and src == "" and #outputs == 0 then
      opts, src = parse_options(b.text)
      src = src
    elseif b.t == "Div" and has_class(b, "output") then
      table.insert(outputs, b)
    end
  end
  if not opt_bool(opts, "include", true) then return pandoc.Blocks({}) end

  local result = pandoc.Blocks({})
  if opt_bool(opts, "echo", false) and src:match("%S") then
    result:insert(pandoc.CodeBlock(src, pandoc.Attr("", { "python" })))
  end
  if opt_bool(opts, "output", true) == false and (opts["output"] ~= nil and stringify(opts["output"]) ~= "asis") then
    return result
  end
  if tags["remove-output"] then return result end

  local body = pandoc.Blocks({})
  for _, out in ipairs(outputs) do
    if has_class(out, "stderr") or has_class(out, "error") then
      -- warnings and tracebacks never reach a reviewer
    elseif has_class(out, "stream") then
      for _, b in ipairs(out.content) do body:insert(b) end
    else
      body:extend(best_output(out))
    end
  end

  local label = opts["label"] and stringify(opts["label"]) or nil
  if label and label:match("^tbl%-") then
    local found
    body, found = label_table(body, label, opt_inlines(opts["tbl-cap"]))
    if not found then warn("cell " .. label .. " has no table output") end
  elseif label and label:match("^fig%-") then
    local found
    body, found = label_figure(body, label, opt_inlines(opts["fig-cap"]), opts["fig-alt"])
    if not found then warn("cell " .. label .. " has no figure output") end
  end
  result:extend(body)
  return result
end

-- Pass 1: flatten cells.
local function flatten(blocks)
  local out = pandoc.Blocks({})
  for _, b in ipairs(blocks) do
    if b.t == "Div" and has_class(b, "cell") and has_class(b, "code") then
      out:extend(process_code_cell(b))
    elseif b.t == "Div" and has_class(b, "cell") then
      out:extend(b.content)
    else
      out:insert(b)
    end
  end
  return out
end

-- Images: alt text from fig-alt; figures get an id-less caption fallback.
local function fix_images(blocks)
  return blocks:walk({
    Image = function(im)
      local alt = im.attributes["fig-alt"]
      if alt then
        im.caption = pandoc.Inlines(alt)
        im.attributes["fig-alt"] = nil
        im.attributes["alt"] = nil
      end
      return im
    end,
  })
end

local function prefix_caption(caption, prefix)
  local long = caption.long
  if #long > 0 and (long[1].t == "Plain" or long[1].t == "Para") then
    local first = long[1]
    first.content = pandoc.Inlines({ pandoc.Str(prefix), pandoc.Space() }) .. first.content
    long[1] = first
  else
    long:insert(1, pandoc.Plain({ pandoc.Str(prefix) }))
  end
  caption.long = long
  return caption
end

-- Pass 2: number labelled tables and figures in document order.
local TYPST_NEW_CHAPTER = "#counter(\"rap-chapter\").step()\n"
  .. "#counter(figure.where(kind: table)).update(0)\n#counter(figure.where(kind: image)).update(0)"

local function number_floats(blocks)
  local refs, chapter, nt, nf = {}, 0, 0, 0
  local function seen(id, kind, n)
    if refs[id] then warn("duplicate label " .. id) end
    refs[id] = { kind = kind, n = chapter .. "." .. n }
  end
  blocks = blocks:walk({
    traverse = "topdown",
    Header = function(h)
      if h.level ~= 1 or h.classes:includes("unnumbered") then return h end
      chapter, nt, nf = chapter + 1, 0, 0
      if is_typst then return { pandoc.RawBlock("typst", TYPST_NEW_CHAPTER), h } end
      return h
    end,
    Table = function(tbl)
      if tbl.identifier:match("^tbl%-") then
        nt = nt + 1
        seen(tbl.identifier, "Table", nt)
        -- the first column holds row labels: mark it as row headers (th scope=row)
        for _, body in ipairs(tbl.bodies) do
          if body.row_head_columns == 0 and #tbl.colspecs > 1 then body.row_head_columns = 1 end
        end
        if not is_typst then tbl.caption = prefix_caption(tbl.caption, "Table " .. refs[tbl.identifier].n .. ":") end
      end
      return tbl
    end,
    Figure = function(fig)
      if fig.identifier:match("^fig%-") then
        nf = nf + 1
        seen(fig.identifier, "Figure", nf)
        if not is_typst then fig.caption = prefix_caption(fig.caption, "Figure " .. refs[fig.identifier].n .. ":") end
      elseif fig.identifier:match("^tbl%-") then
        -- a table wrapped in a figure by some writers/readers
        nt = nt + 1
        seen(fig.identifier, "Table", nt)
        if not is_typst then fig.caption = prefix_caption(fig.caption, "Table " .. refs[fig.identifier].n .. ":") end
      end
      return fig
    end,
  })
  return blocks, refs
end

local function ref_inline(id, refs)
  local r = refs[id]
  if not r then
    warn("unresolved cross-reference @" .. id)
    return pandoc.Strong({ pandoc.Str("?@" .. id) })
  end
  if is_typst then return pandoc.RawInline("typst", "@" .. id) end
  return pandoc.Link({ pandoc.Str(r.kind), pandoc.Space(), pandoc.Str(tostring(r.n)) }, "#" .. id)
end

local function split_ref(s)
  for _, kind in ipairs({ "tbl", "fig" }) do
    local pre, id, post = s:match("^(.-)@(" .. kind .. "%-[%w_%-]*[%w_])(.*)$")
    if id then return pre, id, post end
  end
  return nil
end

-- Pass 3: resolve @tbl-x / @fig-x written as plain text or parsed as citations.
local function resolve_refs(blocks, refs)
  local function expand_str(s)
    local pre, id, post = split_ref(s)
    if not id then return nil end
    local out = pandoc.Inlines({})
    if pre ~= "" then out:insert(pandoc.Str(pre)) end
    out:insert(ref_inline(id, refs))
    if post ~= "" then
      local more = expand_str(post)
      if more then out:extend(more) else out:insert(pandoc.Str(post)) end
    end
    return out
  end
  return blocks:walk({
    Str = function(el) return expand_str(el.text) end,
    Cite = function(el)
      local out = pandoc.Inlines({})
      for i, c in ipairs(el.citations) do
        if not (c.id:match("^tbl%-") or c.id:match("^fig%-")) then return nil end
        if i > 1 then out:extend({ pandoc.Str(","), pandoc.Space() }) end
        out:extend(c.prefix)
        out:insert(ref_inline(c.id, refs))
        out:extend(c.suffix)
      end
      return out
    end,
  })
end

-- --file-scope prefixes every identifier with the input's path ("__tmp__x__01_aipynb__id"):
-- strip it (it would leak absolute paths) and keep identifiers unique across chapters.
local function strip_prefix(id)
  local last = nil
  for pos in id:gmatch("()ipynb__") do last = pos end
  if last then return id:sub(last + 7) end
  return id
end

local function clean_ids(blocks)
  local used = {}
  local renamed = {}
  blocks = blocks:walk({
    Header = function(h)
      local base = strip_prefix(h.identifier)
      local id, n = base, 1
      while used[id] do n = n + 1; id = base .. "-" .. n end
      used[id] = true
      if id ~= h.identifier then renamed[h.identifier] = id; h.identifier = id end
      return h
    end,
  })
  -- any other element with an identifier (tables, figures, divs, spans written in Markdown cells)
  local function strip_attr(el)
    if el.identifier and el.identifier:find("ipynb__", 1, true) then
      el.identifier = strip_prefix(el.identifier)
      return el
    end
  end
  return blocks:walk({
    Link = function(l)
      local target = l.target:match("^#(.*)$")
      if target and target:find("ipynb__", 1, true) then
        l.target = "#" .. (renamed[target] or strip_prefix(target))
      end
      return strip_attr(l) or l
    end,
    Table = strip_attr, Figure = strip_attr, Div = strip_attr, CodeBlock = strip_attr,
    Span = strip_attr, Image = strip_attr, Code = strip_attr,
  })
end

-- HTML: long file paths and identifiers in table cells ("rap/data/ssda903/placement_types.csv",
-- "care_leavers_accommodation") may break after "/" and "_" (<wbr>), so that a column of text need not
-- be as wide as its longest path and a text table fits 320 px instead of scrolling.
local BREAKABLE_LEN = 16

local function split_after_breaks(text)
  local parts = {}
  for piece in text:gmatch("[^/_]*[/_]?") do
    if piece ~= "" then table.insert(parts, piece) end
  end
  return parts
end

local function wbr_inlines(parts, make)
  local out = pandoc.Inlines({})
  for i, piece in ipairs(parts) do
    if i > 1 then out:insert(pandoc.RawInline("html", "<wbr>")) end
    out:insert(make(piece))
  end
  return out
end

local break_long_tokens = {
  Str = function(s)
    if #s.text < BREAKABLE_LEN or not s.text:find("[/_]") then return nil end
    return wbr_inlines(split_after_breaks(s.text), pandoc.Str)
  end,
  Code = function(c)
    if #c.text < BREAKABLE_LEN or c.text:find("%s") or not c.text:find("[/_]") then return nil end
    return wbr_inlines(split_after_breaks(c.text), function(piece) return pandoc.Code(piece, c.attr) end)
  end,
}

-- HTML: each table in its own labelled, focusable scroll region (see the header).
local function wrap_tables(blocks)
  if not is_html then return blocks end
  return blocks:walk({
    Table = function(tbl)
      -- pandoc gives a pipe table with long lines equal relative column widths (from its dashes) and
      -- width:100%; in HTML these force the ratio (a definitions table overflows 320 px because its
      -- short first column must be as wide as its long second one): let the browser size columns
      for i, spec in ipairs(tbl.colspecs) do
        tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
      end
      local label = stringify(tbl.caption.long)
      if label == "" then label = "Table" end
      tbl = tbl:walk(break_long_tokens)
      -- attributes as a list of pairs: a Lua table with string keys has no fixed order, and the HTML
      -- must be byte-identical between runs
      return pandoc.Div({ tbl }, pandoc.Attr("", { "table-wrap" },
        { { "role", "region" }, { "tabindex", "0" }, { "aria-label", label } }))
    end,
  })
end

-- Typst: pandoc's writer drops image alt text, so write figure images ourselves
-- (file next to the .typ source, `image(..., alt: "...")`), which makes the tagged PDF
-- carry the alt text.
local function typst_string(s)
  return '"' .. s:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", " ") .. '"'
end

local function typst_images(blocks)
  if not is_typst then return blocks end
  pcall(pandoc.system.make_directory, "rap-media", true)
  return blocks:walk({
    Image = function(im)
      local alt = stringify(im.caption)
      if alt == "" then return nil end
      local mime, contents = pandoc.mediabag.lookup(im.src)
      if not contents then
        local ok, m, c = pcall(pandoc.mediabag.fetch, im.src)
        if not ok then return nil end
        contents, mime = c, m
      end
      local ext = (mime and mime:match("svg")) and ".svg" or (mime and mime:match("jpe?g")) and ".jpg" or ".png"
      local path = "rap-media/" .. pandoc.utils.sha1(contents) .. ext
      local f = io.open(path, "wb")
      if not f then return nil end
      f:write(contents)
      f:close()
      local width = im.attributes["width"]
      local args = typst_string(path) .. ", alt: " .. typst_string(alt)
      if width and width:match("^[%d.]+%%$") then args = args .. ", width: " .. width end
      return pandoc.RawInline("typst", "#box(image(" .. args .. "))")
    end,
  })
end

function Pandoc(doc)
  local blocks = flatten(doc.blocks)
  blocks = clean_ids(blocks)
  blocks = fix_images(blocks)
  local refs
  blocks, refs = number_floats(blocks)
  blocks = resolve_refs(blocks, refs)
  blocks = typst_images(blocks)
  blocks = wrap_tables(blocks)
  -- notebook metadata (kernel, papermill parameters and paths) never reaches the output
  doc.meta["jupyter"] = nil
  doc.meta["papermill"] = nil
  doc.meta["kernelspec"] = nil
  doc.meta["language_info"] = nil
  doc.blocks = blocks
  return doc
end
