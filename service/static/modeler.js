/* The process designer's modeler: bpmn-js edits the BPMN of a bundle, a small side panel edits
   what this engine reads from it (names, the form file of a user task, timer expressions, the role
   of a lane), a text area edits the JSON files; "validate", "save draft" and "publish" send the
   whole bundle to the server, which runs the same checks as every other deploy. */
(function () {
  "use strict";

  var FORM_PROPERTY = "formJsonSchemaFilename";
  var TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];

  /* What bpmn-js must know of SpiffWorkflow's namespace to keep and edit its extension elements. */
  var spiffworkflow = {
    name: "SpiffWorkflow", prefix: "spiffworkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    xml: {tagAlias: "lowerCase"}, associations: [],
    types: [
      {name: "Properties", superClass: ["Element"], meta: {allowedIn: ["*"]},
       properties: [{name: "properties", type: "Property", isMany: true}]},
      {name: "Property", superClass: ["Element"],
       properties: [{name: "name", type: "String", isAttr: true}, {name: "value", type: "String", isAttr: true}]},
      {name: "PreScript", superClass: ["Element"], properties: [{name: "value", type: "String", isBody: true}]},
      {name: "PostScript", superClass: ["Element"], properties: [{name: "value", type: "String", isBody: true}]},
      {name: "InstructionsForEndUser", superClass: ["Element"],
       properties: [{name: "value", type: "String", isBody: true}]}
    ]
  };

  /* --- Editing one element through the modeling API (so that undo and redo work) ------------ */
  function timerOf(element) {
    return (element.businessObject.eventDefinitions || []).find(function (d) {
      return d.$instanceOf("bpmn:TimerEventDefinition");
    }) || null;
  }

  function timerExpression(element) {
    var timer = timerOf(element);
    if (!timer) return null;
    var kind = TIMER_KINDS.find(function (k) { return timer.get(k); }) || "timeDate";
    return {kind: kind, expression: timer.get(kind) ? (timer.get(kind).body || "") : ""};
  }

  function setTimer(modeler, element, kind, expression) {
    var timer = timerOf(element);
    var props = {timeDate: undefined, timeDuration: undefined, timeCycle: undefined};
    props[kind] = modeler.get("moddle").create("bpmn:FormalExpression", {body: expression});
    modeler.get("modeling").updateModdleProperties(element, timer, props);
  }

  function propertiesOf(element) {
    var extensions = element.businessObject.extensionElements;
    return extensions ? (extensions.get("values") || []).find(function (v) {
      return v.$instanceOf("spiffworkflow:Properties");
    }) : null;
  }

  function property(element, name) {
    var properties = propertiesOf(element);
    var found = properties && properties.get("properties").find(function (p) { return p.name === name; });
    return found ? found.value || "" : "";
  }

  function setProperty(modeler, element, name, value) {
    var moddle = modeler.get("moddle"), modeling = modeler.get("modeling");
    var bo = element.businessObject;
    if (!bo.extensionElements) {
      modeling.updateProperties(element, {extensionElements: moddle.create("bpmn:ExtensionElements", {values: []})});
    }
    var extensions = bo.extensionElements;
    var properties = propertiesOf(element);
    if (!properties) {
      properties = moddle.create("spiffworkflow:Properties", {properties: []});
      modeling.updateModdleProperties(element, extensions, {values: extensions.get("values").concat([properties])});
    }
    var list = properties.get("properties");
    var existing = list.find(function (p) { return p.name === name; });
    if (!value) {
      if (existing) {
        modeling.updateModdleProperties(element, properties, {properties: list.filter(function (p) { return p !== existing; })});
      }
    } else if (existing) {
      modeling.updateModdleProperties(element, existing, {value: value});
    } else {
      var created = moddle.create("spiffworkflow:Property", {name: name, value: value});
      modeling.updateModdleProperties(element, properties, {properties: list.concat([created])});
    }
  }

  function setName(modeler, element, name) {
    modeler.get("modeling").updateProperties(element, {name: name});
  }

  window.PhaenModeler = {extension: spiffworkflow, timerExpression: timerExpression, setTimer: setTimer,
                         property: property, setProperty: setProperty, setName: setName, FORM_PROPERTY: FORM_PROPERTY};

  /* --- The page ---------------------------------------------------------------------------- */
  var root = document.getElementById("modeler");
  if (!root || !window.BpmnJS) return;

  var TYPES = {
    "bpmn:UserTask": "งานของผู้ใช้", "bpmn:ManualTask": "งานที่ทำด้วยมือ", "bpmn:ScriptTask": "งานสคริปต์",
    "bpmn:Task": "งาน", "bpmn:StartEvent": "เหตุการณ์เริ่มต้น", "bpmn:EndEvent": "เหตุการณ์สิ้นสุด",
    "bpmn:BoundaryEvent": "เหตุการณ์ที่ขอบงาน", "bpmn:IntermediateCatchEvent": "เหตุการณ์ระหว่างทาง",
    "bpmn:IntermediateThrowEvent": "เหตุการณ์ระหว่างทาง", "bpmn:ExclusiveGateway": "ทางแยก (เลือกทางเดียว)",
    "bpmn:ParallelGateway": "ทางแยกขนาน", "bpmn:InclusiveGateway": "ทางแยก (เลือกได้หลายทาง)",
    "bpmn:Lane": "เลน (ผู้รับผิดชอบ)", "bpmn:Participant": "หน่วยงาน (pool)", "bpmn:SequenceFlow": "เส้นลำดับงาน",
    "bpmn:SubProcess": "กระบวนงานย่อย", "bpmn:CallActivity": "เรียกกระบวนงานอื่น", "bpmn:Process": "กระบวนงาน"
  };
  var USER_TASKS = ["bpmn:UserTask", "bpmn:ManualTask"];

  var files = JSON.parse(document.getElementById("modeler-files").textContent);
  var csrf = root.dataset.csrf;
  var draftId = root.dataset.draft ? Number(root.dataset.draft) : null;
  var basedOn = root.dataset.basedOn ? Number(root.dataset.basedOn) : null;
  var bpmnNames = Object.keys(files).filter(function (n) { return /\.bpmn$/.test(n); }).sort();
  var bpmnName = bpmnNames[0];
  var checkedXml = {};  // file -> text as last validated, to find the element on a finding's line
  var dirty = false, selected = null;

  var $ = function (id) { return document.getElementById(id); };
  var status = $("modeler-status");
  var modeler = new window.BpmnJS({container: "#modeler-canvas", moddleExtensions: {spiffworkflow: spiffworkflow}});

  function say(text, kind) {
    status.textContent = text;
    status.className = "modeler-status" + (kind ? " " + kind : "");
  }

  async function open(name) {
    try {
      var result = await modeler.importXML(files[name]);
      var canvas = modeler.get("canvas");
      canvas.zoom("fit-viewport", "auto");
      var box = canvas.viewbox(), palette = 90 / box.scale;  // keep the tools from covering the diagram
      canvas.viewbox({x: box.x - palette, y: box.y, width: box.width + palette, height: box.height});
      var lost = (result.warnings || []).map(function (w) { return w.message; });
      showImportWarnings(lost);
    } catch (err) {
      showImportWarnings([err.message]);
      say("เปิดไฟล์ " + name + " ในโปรแกรมออกแบบไม่ได้ แก้ไขไฟล์แล้วอัปโหลดใหม่ที่หน้ากระบวนงาน", "bad");
    }
  }

  function showImportWarnings(messages) {
    var box = $("modeler-import");
    box.hidden = !messages.length;
    box.textContent = messages.length ? "โปรแกรมออกแบบอ่านบางส่วนของไฟล์ไม่ได้ ส่วนนั้นจะหายไปเมื่อบันทึก: " +
      messages.slice(0, 5).join("; ") : "";
  }

  /* The bundle as it stands: the diagram exported into its file, the JSON files as typed. */
  async function bundle() {
    var saved = await modeler.saveXML({format: true});
    files[bpmnName] = saved.xml;
    return Object.assign({}, files);
  }

  async function post(url, body) {
    var response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(body)
    });
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      var detail = data && data.detail ? data.detail : "ระบบตอบกลับด้วยรหัส " + response.status +
        (response.status === 400 ? " (หน้านี้อาจหมดอายุ กรุณาเปิดหน้าใหม่)" : "");
      throw new Error(detail);
    }
    if (data === null) throw new Error("ไม่ได้รับคำตอบจากระบบ อาจหมดเวลาเข้าสู่ระบบ: เข้าสู่ระบบใหม่ในแท็บอื่นแล้วกดอีกครั้ง");
    return data;
  }

  /* --- The side panel ---------------------------------------------------------------------- */
  function rolesFile() {
    try { return JSON.parse(files["roles.json"] || "{}"); } catch (e) { return null; }
  }

  function setRolesFile(roles) {
    files["roles.json"] = JSON.stringify(roles, null, 2) + "\n";
    if ($("json-file").value === "roles.json") $("json-text").value = files["roles.json"];
    dirty = true;
  }

  function show(element) {
    selected = element;
    var panel = $("element-panel");
    if (!element) { panel.hidden = true; $("element-none").hidden = false; return; }
    panel.hidden = false;
    $("element-none").hidden = true;
    var bo = element.businessObject;
    $("el-type").textContent = TYPES[bo.$type] || bo.$type.replace("bpmn:", "");
    $("el-id").textContent = bo.id;
    $("el-name").value = bo.name || "";
    var isTask = USER_TASKS.indexOf(bo.$type) >= 0;
    $("el-form-field").hidden = !isTask;
    if (isTask) $("el-form").value = property(element, FORM_PROPERTY);
    var timer = timerOf(element) ? timerExpression(element) : null;
    $("el-timer-field").hidden = !timer;
    if (timer) { $("el-timer-kind").value = timer.kind; $("el-timer").value = timer.expression; }
    var isLane = bo.$type === "bpmn:Lane";
    $("el-role-field").hidden = !isLane;
    if (isLane) {
      var roles = rolesFile();
      $("el-role").value = roles && roles.lanes ? roles.lanes[bo.name || ""] || "" : "";
    }
  }

  function apply(event) {
    if (event) event.preventDefault();
    if (!selected) return;
    var element = selected, bo = element.businessObject;
    var name = $("el-name").value.trim();
    if (name !== (bo.name || "")) {
      var before = bo.name || "";
      setName(modeler, element, name);
      if (bo.$type === "bpmn:Lane") renameLaneRole(before, name);
    }
    if (USER_TASKS.indexOf(bo.$type) >= 0 && $("el-form").value.trim() !== property(element, FORM_PROPERTY)) {
      setProperty(modeler, element, FORM_PROPERTY, $("el-form").value.trim());
    }
    var timer = timerOf(element) ? timerExpression(element) : null;
    if (timer && ($("el-timer").value.trim() !== timer.expression || $("el-timer-kind").value !== timer.kind)) {
      setTimer(modeler, element, $("el-timer-kind").value, $("el-timer").value.trim());
    }
    if (bo.$type === "bpmn:Lane") setLaneRole(name, $("el-role").value.trim());
  }

  function renameLaneRole(before, after) {
    var roles = rolesFile();
    if (!roles || !roles.lanes || !(before in roles.lanes) || after in roles.lanes) return;
    roles.lanes[after] = roles.lanes[before];
    delete roles.lanes[before];
    setRolesFile(roles);
  }

  function setLaneRole(lane, role) {
    var roles = rolesFile();
    if (!roles || !lane) return;
    roles.lanes = roles.lanes || {};
    if ((roles.lanes[lane] || "") === role) return;
    if (role) roles.lanes[lane] = role; else delete roles.lanes[lane];
    setRolesFile(roles);
  }

  /* --- The JSON files ---------------------------------------------------------------------- */
  function listJsonFiles(chosen) {
    var select = $("json-file"), names = Object.keys(files).filter(function (n) { return /\.json$/.test(n); }).sort();
    select.innerHTML = "";
    names.forEach(function (n) { select.add(new Option(n, n, false, n === chosen)); });
    $("form-files").innerHTML = "";
    names.filter(function (n) { return n !== "roles.json" && n !== "process.json"; }).forEach(function (n) {
      $("form-files").appendChild(new Option(n));
    });
    showJson();
  }

  function showJson() {
    var name = $("json-file").value;
    $("json-text").value = name ? files[name] : "";
    jsonState();
  }

  function jsonState() {
    var note = $("json-state");
    try {
      JSON.parse($("json-text").value);
      note.textContent = "";
    } catch (err) {
      note.textContent = "JSON ยังไม่ถูกต้อง: " + err.message;
    }
  }

  function addJsonFile() {
    var name = $("json-new").value.trim();
    if (!/^[A-Za-z0-9_.\-]+\.json$/.test(name)) { say("ชื่อไฟล์ต้องลงท้ายด้วย .json และไม่มีเว้นวรรค เช่น review.schema.json", "bad"); return; }
    if (!(name in files)) {
      files[name] = JSON.stringify({title: "", type: "object", required: [], properties: {}}, null, 2) + "\n";
      dirty = true;
    }
    $("json-new").value = "";
    listJsonFiles(name);
  }

  /* --- Validate, save, publish -------------------------------------------------------------- */
  function lineElement(file, line) {
    var lines = (checkedXml[file] || "").split("\n").slice(0, line);
    for (var i = lines.length - 1; i >= 0; i--) {
      var match = / id="([^"]+)"/.exec(lines[i]);
      if (match && modeler.get("elementRegistry").get(match[1])) return match[1];
    }
    return null;
  }

  function goTo(file, line) {
    if (/\.bpmn$/.test(file) && file === bpmnName) {
      var id = lineElement(file, line);
      if (!id) return;
      var element = modeler.get("elementRegistry").get(id);
      modeler.get("selection").select(element);
      modeler.get("canvas").scrollToElement(element);
    } else if (file in files && /\.json$/.test(file)) {
      listJsonFiles(file);
      var text = $("json-text"), offset = text.value.split("\n").slice(0, Math.max(line - 1, 0)).join("\n").length;
      text.focus();
      text.setSelectionRange(offset, offset);
    }
  }

  function findingItem(finding) {
    var item = document.createElement("li");
    var where = document.createElement("button");
    where.type = "button";
    where.className = "link where";
    where.textContent = finding.file + (finding.line ? ":" + finding.line : "");
    where.addEventListener("click", function () { goTo(finding.file, finding.line); });
    item.appendChild(where);
    item.appendChild(document.createTextNode(" " + finding.message));
    return item;
  }

  var KINDS = {tasks: "งาน", lanes: "เลน", forms: "แบบฟอร์ม", timers: "กำหนดเวลา"};
  var CHANGES = {added: "เพิ่ม", removed: "ลบ", changed: "แก้ไข"};

  function showReport(report) {
    var box = $("modeler-findings");
    box.innerHTML = "";
    var head = document.createElement("p");
    head.setAttribute("role", report.ok ? "status" : "alert");
    if (report.ok) {
      var finished = report.dry_run.filter(function (r) { return r.finished; }).length;
      head.className = "notice notice-success";
      head.textContent = "ผ่านการตรวจสอบ: ทดลองเดินกระบวนงาน " + report.dry_run.length + " เส้นทาง จบ " + finished +
        " เส้นทาง ยังไม่ได้บันทึกหรือเผยแพร่สิ่งใด";
    } else {
      head.className = "notice notice-error";
      head.textContent = "ไม่ผ่านการตรวจสอบ: พบปัญหา " + report.problems.length + " รายการ (กดที่ไฟล์:บรรทัดเพื่อไปยังจุดนั้น)";
    }
    box.appendChild(head);
    var problems = document.createElement("ol");
    problems.className = "problems";
    report.problems.forEach(function (p) { problems.appendChild(findingItem(p)); });
    if (report.problems.length) box.appendChild(problems);
    if (report.warnings.length) {
      var warnings = document.createElement("ul");
      warnings.className = "warnings";
      report.warnings.forEach(function (w) {
        var item = findingItem(w);
        item.insertBefore(document.createTextNode("ข้อสังเกต: "), item.firstChild);
        warnings.appendChild(item);
      });
      box.appendChild(warnings);
    }
    if (report.ok && report.diff) {
      var title = document.createElement("h3");
      title.textContent = "ความแตกต่างจาก" + (report.diff.against_version ? "ฉบับที่ " + report.diff.against_version : "ฉบับก่อน (ยังไม่มี)");
      box.appendChild(title);
      var changes = document.createElement("ul");
      Object.keys(report.diff.changes).forEach(function (kind) {
        report.diff.changes[kind].forEach(function (c) {
          var item = document.createElement("li"), value = c.after || c.before;
          item.textContent = KINDS[kind] + " " + CHANGES[c.change] + ": " +
            (value && value.name ? value.name + " (" + c.key + ")" : c.key) +
            (c.change === "changed" ? " — " + c.fields.join(", ") : "");
          changes.appendChild(item);
        });
      });
      if (!changes.children.length) changes.innerHTML = "<li>ไม่มีความแตกต่าง</li>";
      box.appendChild(changes);
    }
  }

  async function validate() {
    say("กำลังตรวจสอบ…");
    try {
      var current = await bundle();
      var report = await post(root.dataset.validateUrl, {files: current});
      checkedXml = current;
      showReport(report);
      say(report.ok ? "ผ่านการตรวจสอบ (รายละเอียดใต้แผนภาพ)" :
          "ไม่ผ่านการตรวจสอบ: พบปัญหา " + report.problems.length + " รายการ (รายละเอียดใต้แผนภาพ)",
          report.ok ? "good" : "bad");
    } catch (err) {
      say("ตรวจสอบไม่สำเร็จ: " + err.message, "bad");
    }
  }

  async function saveDraft() {
    say("กำลังบันทึกร่าง…");
    try {
      var saved = await post(root.dataset.saveUrl, {files: await bundle(), based_on: basedOn});
      draftId = saved.id;
      dirty = false;
      window.history.replaceState(null, "", saved.url);
      $("modeler-source").textContent = "ร่างที่ " + saved.id + " (ยังไม่เผยแพร่)";
      say("บันทึกร่างที่ " + saved.id + " แล้ว", "good");
      return saved.id;
    } catch (err) {
      say("บันทึกร่างไม่สำเร็จ: " + err.message, "bad");
      return null;
    }
  }

  async function publish() {
    var id = dirty || !draftId ? await saveDraft() : draftId;
    if (!id) return;
    var form = $("publish-form");
    form.action = root.dataset.checkUrl.replace("/0/", "/" + id + "/");
    form.submit();
  }

  /* --- Wiring -------------------------------------------------------------------------------- */
  modeler.on("selection.changed", function (e) { show(e.newSelection.length === 1 ? e.newSelection[0] : null); });
  modeler.on("element.changed", function (e) {
    if (selected && e.element === selected && !$("element-panel").contains(document.activeElement)) show(selected);
  });
  modeler.on("commandStack.changed", function () { dirty = true; });
  $("element-panel").addEventListener("submit", apply);
  $("element-panel").addEventListener("change", function () { apply(); });
  $("json-file").addEventListener("change", showJson);
  $("json-text").addEventListener("input", function () {
    files[$("json-file").value] = $("json-text").value;
    dirty = true;
    jsonState();
  });
  $("json-add").addEventListener("click", addJsonFile);
  $("modeler-validate").addEventListener("click", validate);
  $("modeler-save").addEventListener("click", saveDraft);
  $("modeler-publish").addEventListener("click", publish);
  var chooser = $("bpmn-file");
  bpmnNames.forEach(function (n) { chooser.add(new Option(n, n)); });
  chooser.hidden = bpmnNames.length < 2;
  chooser.addEventListener("change", async function () {
    await bundle();
    bpmnName = chooser.value;
    await open(bpmnName);
  });
  window.addEventListener("beforeunload", function (e) {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });

  listJsonFiles("roles.json");
  open(bpmnName).then(function () { dirty = false; root.classList.add("ready"); say(""); });
})();
