import t from 'tap';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

// The .proto files are loaded by @grpc/proto-loader, the same loader the
// register and the relay will serve them with, so a syntax or type error here
// is one the services would hit at start-up.
const ROOT = path.resolve(import.meta.dirname, '../..');
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: false };

interface FieldDescriptor {
  name: string;
  number: number;
  type: string;
  typeName?: string;
  oneofIndex?: number;
}
interface MessageDefinition {
  type: { field: FieldDescriptor[]; oneofDecl: { name: string }[] };
}

function load(file: string): protoLoader.PackageDefinition {
  return protoLoader.loadSync(path.join(ROOT, 'protocol/proto', file), LOADER_OPTIONS);
}

function fields(def: protoLoader.PackageDefinition, message: string): Map<string, string> {
  const m = def[`vigie.v1.${message}`] as unknown as MessageDefinition | undefined;
  if (!m) throw new Error(`message vigie.v1.${message} is not defined`);
  return new Map(
    m.type.field.map((f) => [f.name, f.typeName || f.type.replace(/^TYPE_/, '').toLowerCase()]),
  );
}

function method(
  def: protoLoader.PackageDefinition,
  service: string,
  name: string,
): protoLoader.MethodDefinition<object, object> {
  const svc = def[`vigie.v1.${service}`] as protoLoader.ServiceDefinition | undefined;
  const m = svc?.[name];
  if (!m) throw new Error(`rpc vigie.v1.${service}.${name} is not defined`);
  return m;
}

t.test('the media tunnel is one bidirectional stream with the messages of DESIGN', async (t) => {
  const def = load('tunnel.proto');
  const session = method(def, 'MediaTunnel', 'Session');
  t.ok(session.requestStream && session.responseStream, 'bidirectional');
  t.same(
    [...fields(def, 'TunnelUp').keys()],
    ['hello', 'init', 'fragment', 'bye', 'extend', 'keepalive'],
  );
  t.same(
    [...fields(def, 'TunnelDown').keys()],
    [
      'accepted',
      'rejected',
      'viewer_joined',
      'viewer_left',
      'intervention_over',
      'close',
      'keepalive',
    ],
  );
  const up = def['vigie.v1.TunnelUp'] as unknown as MessageDefinition;
  t.same(
    up.type.oneofDecl.map((o) => o.name),
    ['msg'],
    'up messages are one oneof',
  );
  t.ok(
    up.type.field.every((f) => f.oneofIndex === 0),
    'every up message is in the oneof',
  );
  t.same(Object.fromEntries(fields(def, 'Hello')), {
    ticket: 'bytes',
    session_id: 'string',
    box_id: 'string',
  });
  t.same(Object.fromEntries(fields(def, 'Fragment')), {
    camera: 'string',
    seq: 'uint64',
    keyframe: 'bool',
    data: 'bytes',
  });
  t.equal(fields(def, 'InitSegment').get('camera'), 'string');
  for (const m of ['Bye', 'Rejected', 'Close']) t.equal(fields(def, m).get('reason'), 'string', m);
});

t.test('a tunnel fragment survives the wire encoding byte for byte', async (t) => {
  const session = method(load('tunnel.proto'), 'MediaTunnel', 'Session');
  const data = Buffer.from([0, 1, 2, 250, 255]);
  const wire = session.requestSerialize({
    fragment: { camera: 'cam-01', seq: '18446744073709551615', keyframe: true, data },
  });
  const back = session.requestDeserialize(wire) as {
    fragment?: { camera: string; seq: string; keyframe: boolean; data: Buffer };
  };
  t.equal(back.fragment?.camera, 'cam-01');
  t.equal(back.fragment?.seq, '18446744073709551615', 'uint64 kept exactly (as a string)');
  t.equal(back.fragment?.keyframe, true);
  t.same(back.fragment?.data, data);
});

t.test(
  'register ingest streams entries and heads, answers with acks and signed checkpoints',
  async (t) => {
    const def = load('register.proto');
    const ingest = method(def, 'RegisterIngest', 'Ingest');
    t.ok(ingest.requestStream && ingest.responseStream, 'bidirectional');
    const get = method(def, 'RegisterIngest', 'GetCheckpoint');
    t.notOk(get.requestStream || get.responseStream, 'GetCheckpoint is unary');
    t.same([...fields(def, 'IngestRequest').keys()], ['hello', 'entry', 'head', 'entries']);
    t.same([...fields(def, 'JournalEntries').keys()], ['entries']);
    t.same(
      [...fields(def, 'IngestHello').keys()],
      ['source', 'boot_id', 'last_local_seq', 'known_tree_size'],
    );
    t.same([...fields(def, 'IngestResponse').keys()], ['resume', 'ack', 'nack', 'checkpoint']);
    t.same(
      [...fields(def, 'JournalEntry').keys()],
      ['source', 'seq', 'time', 'boot_id', 'type', 'data', 'prev_hash', 'hash'],
    );
    t.same([...fields(def, 'SignedHead').keys()], ['source', 'seq', 'hash', 'sig']);
    const checkpoint = fields(def, 'Checkpoint');
    t.same(
      [checkpoint.get('tree_size'), checkpoint.get('root_hash'), checkpoint.get('sig')],
      ['uint64', 'bytes', 'bytes'],
    );
    t.same(
      [checkpoint.get('proof_from_size'), checkpoint.get('consistency_proof')],
      ['uint64', 'bytes'],
      'each checkpoint sent to a box carries its consistency proof',
    );
    t.same(
      [
        checkpoint.get('inclusion_seq'),
        checkpoint.get('leaf_index'),
        checkpoint.get('inclusion_proof'),
      ],
      ['uint64', 'uint64', 'bytes'],
      "and the inclusion proof of the box's last acknowledged entry",
    );
  },
);

t.test('field names are snake_case and numbers avoid the reserved range', async (t) => {
  for (const file of ['tunnel.proto', 'register.proto']) {
    const def = load(file);
    for (const [name, value] of Object.entries(def)) {
      const type = (value as unknown as Partial<MessageDefinition>).type;
      if (!type?.field) continue;
      for (const f of type.field) {
        t.match(f.name, /^[a-z][a-z0-9_]*$/, `${name}.${f.name}`);
        t.ok(f.number >= 1 && (f.number < 19000 || f.number > 19999), `${name}.${f.name} number`);
      }
    }
  }
});
