// Validates every manifest in a folder (default: deploy/kubernetes) offline:
//
// 1. against the Kubernetes API's OpenAPI schemas, with the validators that
//    the npm package kubernetes-models generates from them (types, formats,
//    required fields, enums);
// 2. for unknown fields (a misspelt `readinesProbe` is silently ignored by the
//    schemas above and by kubectl without --validate=strict): each document
//    becomes a TypeScript object literal typed with kubernetes-models'
//    interfaces, and the TypeScript compiler reports every excess property;
// 3. for herd's own consistency: the config in the ConfigMap names exactly
//    the StatefulSet's pods, its ports are the container's, the probes, the
//    Services and the NetworkPolicy use them.
//
// Usage: node validate.mjs [DIR]. Exit 0 when all is well, 1 otherwise.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] ?? path.join(here, ".."));
const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);

// --- read every document -------------------------------------------------------
const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const docs = [];  // {file, index, object, where}
for (const file of files) {
  const text = fs.readFileSync(path.join(dir, file), "utf8");
  YAML.parseAllDocuments(text).forEach((doc, index) => {
    const where = `${file}#${index}`;
    if (doc.errors.length) return fail(where, doc.errors.map((e) => e.message).join("; "));
    const object = doc.toJS();
    if (object === null) return;
    docs.push({ file, index, object, where: `${where} ${object.kind ?? "?"} ${object.metadata?.name ?? ""}` });
  });
}

// kustomization.yaml is no API object: check that it lists every other file.
const kustomization = docs.find((d) => d.object.kind === "Kustomization");
if (kustomization) {
  const listed = new Set(kustomization.object.resources ?? []);
  for (const file of files) {
    if (file !== kustomization.file && !listed.has(file)) fail(kustomization.where, `does not list ${file}`);
  }
  for (const file of listed) if (!files.includes(file)) fail(kustomization.where, `lists missing ${file}`);
}
const objects = docs.filter((d) => d !== kustomization);

// --- 1. the API schemas ----------------------------------------------------------
function modulePath({ apiVersion, kind }) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

for (const doc of objects) {
  const module = modulePath(doc.object);
  if (!module) {
    fail(doc.where, "no apiVersion or kind");
    continue;
  }
  let Model;
  try {
    Model = (await import(module))[doc.object.kind];
  } catch {
    fail(doc.where, `unknown apiVersion/kind ${doc.object.apiVersion} ${doc.object.kind}`);
    continue;
  }
  doc.typeName = `I${doc.object.kind}`;
  doc.module = module;
  try {
    new Model(doc.object).validate();
  } catch (e) {
    fail(doc.where, e.message);
  }
}

// --- 2. unknown fields -------------------------------------------------------------
const typed = objects.filter((d) => d.module);
{
  // An in-memory file beside node_modules (nothing is written to disk, so a
  // read-only checkout works too).
  const source = path.join(here, "__manifests__.ts");
  const lines = typed.map((d, i) => `import type { ${d.typeName} as T${i} } from "${d.module}";`);
  const first = lines.length;
  typed.forEach((d, i) => lines.push(`export const d${i}: T${i} = ${JSON.stringify(d.object)};`));
  const text = lines.join("\n") + "\n";
  const options = {
    noEmit: true, strict: true, skipLibCheck: true, types: [],
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => path.resolve(f) === source || fileExists.call(host, f);
  host.readFile = (f) => (path.resolve(f) === source ? text : readFile.call(host, f));
  host.getSourceFile = (f, ...rest) =>
    path.resolve(f) === source
      ? ts.createSourceFile(f, text, ts.ScriptTarget.ES2022, true)
      : getSourceFile.call(host, f, ...rest);
  const program = ts.createProgram([source], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (d.file && path.resolve(d.file.fileName) === source) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      const doc = typed[line - first];
      fail(doc ? doc.where : `manifests.ts:${line + 1}`, message);
    } else {
      fail("typescript", message);
    }
  }
}

// --- 3. herd's own consistency -------------------------------------------------------
const find = (kind, pred = () => true) => objects.filter((d) => d.object.kind === kind && pred(d.object));
const [sts] = find("StatefulSet");
const [cm] = find("ConfigMap");
if (!sts || !cm) {
  fail(dir, "needs one StatefulSet and one ConfigMap");
} else {
  const spec = sts.object.spec ?? {};
  const pod = spec.template?.spec ?? {};
  const container = (pod.containers ?? []).find((c) => c.name === "herd") ?? {};
  const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  let config = null;
  try {
    config = JSON.parse(cm.object.data?.["herd.json"] ?? "");
  } catch (e) {
    fail(cm.where, `data["herd.json"] is not JSON: ${e.message}`);
  }
  if (!cm.object.data?.["start.sh"]) fail(cm.where, 'no data["start.sh"]');
  if (config) {
    const names = (config.servers ?? []).map((s) => s.name);
    const pods = Array.from({ length: spec.replicas ?? 1 }, (_, i) => `${sts.object.metadata.name}-${i}`);
    if (JSON.stringify(names) !== JSON.stringify(pods)) {
      fail(cm.where, `servers are ${names.join(", ")}, the StatefulSet's pods ${pods.join(", ")}`);
    }
    for (const [i, server] of (config.servers ?? []).entries()) {
      if (!/^[A-Za-z0-9.-]+$/.test(server.name)) fail(cm.where, `servers[${i}].name ${server.name} is not a herd name`);
      for (const key of ["edge", "grpc", "peer", "health"]) {
        const want = `${server.name}.${spec.serviceName}:${ports[key]}`;
        if (server[key] !== want) fail(cm.where, `servers[${i}].${key} is ${server[key]}, expected ${want}`);
      }
    }
    for (const [i, link] of (config.links ?? []).entries()) {
      for (const end of link) if (!names.includes(end)) fail(cm.where, `links[${i}]: unknown server ${end}`);
    }
    if (!config.tls?.cert_file?.includes("{name}")) fail(cm.where, "tls.cert_file needs {name}");
    for (const [i, t] of (config.auth?.tokens ?? []).entries()) {
      if (!/^[0-9a-f]{64}$/.test(t.sha256 ?? "")) fail(cm.where, `auth.tokens[${i}].sha256 is not 64 hex digits`);
    }
    if (!config.data_dir) fail(cm.where, "no data_dir");
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    if (mounts[config.data_dir] !== "data") fail(sts.where, `data_dir ${config.data_dir} is not the PVC "data"`);
    if (!(spec.volumeClaimTemplates ?? []).some((v) => v.metadata?.name === "data")) {
      fail(sts.where, "no volumeClaimTemplate named data");
    }
  }
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    // Probes cannot speak TLS: they go to the plaintext health port.
    if (container[probe]?.grpc?.port !== ports.health) fail(sts.where, `${probe} is not a gRPC probe on the health port ${ports.health}`);
  }
  const [headless] = find("Service", (s) => s.metadata?.name === spec.serviceName);
  if (!headless || headless.object.spec?.clusterIP !== "None") {
    fail(sts.where, `serviceName ${spec.serviceName} is not a headless Service here`);
  }
  for (const svc of find("Service")) {
    for (const p of svc.object.spec?.ports ?? []) {
      if (ports[p.targetPort] !== p.port) fail(svc.where, `port ${p.name} -> ${p.targetPort} is not container port ${p.port}`);
    }
  }
  const [np] = find("NetworkPolicy");
  const peerRule = np?.object.spec?.ingress?.find((r) => r.ports?.some((p) => p.port === ports.peer));
  if (!peerRule || !peerRule.from?.length || peerRule.ports.length !== 1 ||
      JSON.stringify(peerRule.from[0].podSelector?.matchLabels) !== JSON.stringify(spec.selector?.matchLabels)) {
    fail(np?.where ?? dir, `the peer port ${ports.peer} must be open to herd pods alone`);
  }
  if (np?.object.spec?.ingress?.some((r) => r !== peerRule && r.ports?.some((p) => p.port === ports.peer))) {
    fail(np.where, `another rule opens the peer port ${ports.peer}`);
  }
  if (!find("PodDisruptionBudget").length) fail(dir, "no PodDisruptionBudget");
}

for (const p of problems) console.log(`FAIL ${p}`);
console.log(`kubernetes manifests: ${objects.length} documents in ${files.length} files under ${dir}; ` +
            `${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
