import { isIP } from 'node:net';

/**
 * Just enough of Elasticsearch's document mapping to judge documents as ES does: declared field
 * types (from index templates) coerce or refuse values, unknown fields are mapped dynamically
 * (dynamic templates first, then ES's defaults), the total-fields limit applies.
 */

export interface FieldMapping {
  type?: string;
  properties?: Record<string, FieldMapping>;
  fields?: Record<string, FieldMapping>;
  dynamic?: boolean | 'strict' | 'true' | 'false';
  ignore_malformed?: boolean;
  coerce?: boolean;
  ignore_above?: number;
  [k: string]: unknown;
}

export interface DynamicTemplate {
  match_mapping_type?: string;
  match?: string;
  path_match?: string;
  mapping: FieldMapping;
}

export interface RootMapping {
  dynamic?: boolean | 'strict' | 'true' | 'false';
  dynamic_templates?: Array<Record<string, DynamicTemplate>>;
  properties: Record<string, FieldMapping>;
}

/** An item-level failure as ES reports it. */
/** A name of only whitespace (what `trim()` would empty). */
const BLANK = /^\s+$/;

export class MappingError extends Error {
  readonly type: string;
  readonly causedBy: { type: string; reason: string } | undefined;
  constructor(type: string, reason: string, causedBy?: { type: string; reason: string }) {
    super(reason);
    this.type = type;
    this.causedBy = causedBy;
  }
}

const INTEGER_RANGES: Record<string, [number, number]> = {
  long: [-(2 ** 63), 2 ** 63 - 1], integer: [-(2 ** 31), 2 ** 31 - 1], short: [-32768, 32767], byte: [-128, 127], unsigned_long: [0, 2 ** 64 - 1],
};
const FLOATS = new Set(['double', 'float', 'half_float', 'scaled_float']);
const STRINGS = new Set(['keyword', 'text', 'match_only_text', 'wildcard', 'constant_keyword', 'version']);
const DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function preview(v: unknown): string {
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function fieldError(path: string, type: string, id: string, value: unknown, cause: { type: string; reason: string }): MappingError {
  return new MappingError('mapper_parsing_exception', `failed to parse field [${path}] of type [${type}] in document with id '${id}'. Preview of field's value: '${preview(value)}'`, cause);
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(s);
}

function jsonType(v: unknown): string {
  if (typeof v === 'string') return DATE_RE.test(v) ? 'date' : 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  if (typeof v === 'boolean') return 'boolean';
  return 'object';
}

/**
 * A field's mapping by name: own properties only. Field names come from documents, and ES maps
 * `__proto__`, `constructor` or `toString` like any other name; a plain `props[name]` would find
 * Object.prototype's members instead (and writing through them polluted every object in the
 * process: the next countFields recursed forever, so every later request got a 500).
 */
function fieldOf(props: Record<string, FieldMapping>, name: string): FieldMapping | undefined {
  return Object.hasOwn(props, name) ? props[name] : undefined;
}

/** Adds a field's mapping as an own property (an assignment to `__proto__` would set the prototype). */
function defineField(props: Record<string, FieldMapping>, name: string, mapping: FieldMapping): void {
  Object.defineProperty(props, name, { value: mapping, enumerable: true, writable: true, configurable: true });
}

/** Counts mapped fields (objects, leaves and multi-fields) as index.mapping.total_fields.limit does. */
export function countFields(props: Record<string, FieldMapping>): number {
  let n = 0;
  for (const k of Object.keys(props)) {
    n++;
    const f = props[k];
    if (f.properties) n += countFields(f.properties);
    if (f.fields) n += Object.keys(f.fields).length;
  }
  return n;
}

export class DocumentMapper {
  readonly mapping: RootMapping;
  readonly totalFieldsLimit: number;
  private fieldCount: number;

  constructor(mapping: RootMapping | undefined, totalFieldsLimit = 1000) {
    this.mapping = mapping ? structuredClone(mapping) : { properties: {} };
    this.mapping.properties ??= {};
    this.totalFieldsLimit = totalFieldsLimit;
    this.fieldCount = countFields(this.mapping.properties);
  }

  /**
   * Checks a document against the mapping; throws MappingError as ES would. New dynamic fields
   * are added to the mapping only when the whole document is accepted.
   */
  apply(doc: Record<string, unknown>, id: string): void {
    const added: Array<{ parent: Record<string, FieldMapping>; name: string; mapping: FieldMapping }> = [];
    this.walk(doc, this.mapping.properties, '', this.mapping.dynamic ?? true, id, added);
    if (added.length > 0) {
      let extra = 0;
      for (const a of added) extra += 1 + (a.mapping.properties ? countFields(a.mapping.properties) : 0) + (a.mapping.fields ? Object.keys(a.mapping.fields).length : 0);
      if (this.fieldCount + extra > this.totalFieldsLimit) {
        throw new MappingError('illegal_argument_exception', `Limit of total fields [${this.totalFieldsLimit}] has been exceeded while adding new fields [${extra}]`);
      }
      for (const a of added) if (!fieldOf(a.parent, a.name)) defineField(a.parent, a.name, a.mapping);
      this.fieldCount = countFields(this.mapping.properties);
    }
  }

  private walk(obj: Record<string, unknown>, props: Record<string, FieldMapping>, prefix: string, dynamic: RootMapping['dynamic'], id: string, added: Array<{ parent: Record<string, FieldMapping>; name: string; mapping: FieldMapping }>): void {
    for (const rawKey in obj) {
      const value = obj[rawKey];
      if (rawKey.length === 0 || BLANK.test(rawKey)) throw new MappingError('mapper_parsing_exception', 'field name cannot be an empty string');
      if (rawKey.indexOf('.') < 0 && (prefix !== '' || rawKey.charCodeAt(0) !== 95 /* _ */)) {
        // The common key: no path to expand, not a metadata field (no array per key: this server
        // must stay cheaper than the shipper it measures).
        this.field(value, props, prefix ? `${prefix}.${rawKey}` : rawKey, rawKey, dynamic, id, added);
        continue;
      }
      // ES expands dotted names into object paths ("a.b": 1 is {"a": {"b": 1}}).
      const segs = rawKey.split('.');
      if (segs.some((s) => s.length === 0)) throw new MappingError('mapper_parsing_exception', `field name cannot contain only whitespace or empty path segments: ['${rawKey}']`);
      if (prefix === '' && segs[0].startsWith('_') && ['_id', '_index', '_source', '_routing', '_seq_no', '_version'].includes(segs[0])) {
        throw new MappingError('mapper_parsing_exception', `Field [${segs[0]}] is a metadata field and cannot be added inside a document. Use the index API request parameters.`);
      }
      let parentProps = props;
      let path = prefix;
      let dyn = dynamic;
      for (let i = 0; i < segs.length - 1; i++) {
        path = path ? `${path}.${segs[i]}` : segs[i];
        let node = fieldOf(parentProps, segs[i]) ?? added.find((a) => a.parent === parentProps && a.name === segs[i])?.mapping;
        if (!node) {
          if (!this.allowNew(dyn, segs[i], path)) break;
          node = { properties: {} };
          added.push({ parent: parentProps, name: segs[i], mapping: node });
        }
        if (node.type && node.type !== 'object' && node.type !== 'nested') {
          if (node.type === 'flattened') return;
          throw new MappingError('mapper_parsing_exception', `Could not dynamically add mapping for field [${rawKey}]. Existing mapping for [${path}] must be of type object but found [${node.type}].`);
        }
        node.properties ??= {};
        dyn = node.dynamic ?? dyn;
        parentProps = node.properties;
      }
      const name = segs[segs.length - 1];
      this.field(value, parentProps, path ? `${path}.${name}` : name, name, dyn, id, added);
    }
  }

  private allowNew(dynamic: RootMapping['dynamic'], name: string, path: string): boolean {
    if (dynamic === 'strict') {
      const parent = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '_doc';
      throw new MappingError('strict_dynamic_mapping_exception', `[1:1] mapping set to strict, dynamic introduction of [${name}] within [${parent}] is not allowed`);
    }
    return !(dynamic === false || dynamic === 'false');
  }

  private field(value: unknown, props: Record<string, FieldMapping>, path: string, name: string, dynamic: RootMapping['dynamic'], id: string, added: Array<{ parent: Record<string, FieldMapping>; name: string; mapping: FieldMapping }>): void {
    if (value === null || value === undefined) return;
    let m = fieldOf(props, name) ?? added.find((a) => a.parent === props && a.name === name)?.mapping;
    if (Array.isArray(value)) {
      for (const v of value) this.field(v, props, path, name, dynamic, id, added);
      return;
    }
    if (!m) {
      if (!this.allowNew(dynamic, name, path)) return;
      m = this.dynamicMapping(value, path, name);
      added.push({ parent: props, name, mapping: m });
    }
    const type = m.type ?? (m.properties ? 'object' : 'object');
    if (type === 'object' || type === 'nested') {
      if (typeof value !== 'object') {
        throw new MappingError('mapper_parsing_exception', `object mapping for [${path}] tried to parse field [${name}] as object, but found a concrete value`);
      }
      m.properties ??= {};
      this.walk(value as Record<string, unknown>, m.properties, path, m.dynamic ?? dynamic, id, added);
      return;
    }
    if (type === 'flattened') return;
    if (typeof value === 'object') {
      throw fieldError(path, type, id, value, { type: 'illegal_state_exception', reason: `Can't get text on a START_OBJECT at 1:1` });
    }
    this.checkValue(value, m, type, path, id);
  }

  private checkValue(value: unknown, m: FieldMapping, type: string, path: string, id: string): void {
    const malformed = (cause: { type: string; reason: string }) => {
      if (m.ignore_malformed) return;
      throw fieldError(path, type, id, value, cause);
    };
    if (STRINGS.has(type)) return;
    if (type in INTEGER_RANGES || FLOATS.has(type)) {
      let n: number;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && m.coerce !== false && value.trim() !== '' && !Number.isNaN(Number(value))) n = Number(value);
      else return malformed({ type: 'illegal_argument_exception', reason: typeof value === 'boolean' ? `Current token (VALUE_${String(value).toUpperCase()}) not numeric, can not use numeric value accessors` : `For input string: "${String(value)}"` });
      if (type in INTEGER_RANGES) {
        const [lo, hi] = INTEGER_RANGES[type];
        if (!Number.isInteger(n) && m.coerce === false) return malformed({ type: 'illegal_argument_exception', reason: `Value [${n}] has a decimal part` });
        if (Math.trunc(n) < lo || Math.trunc(n) > hi) return malformed({ type: 'illegal_argument_exception', reason: `Value [${n}] is out of range for ${type === 'integer' ? 'an integer' : `a ${type}`}` });
      }
      return;
    }
    if (type === 'boolean') {
      if (value === true || value === false || value === 'true' || value === 'false' || value === '') return;
      return malformed({ type: 'illegal_argument_exception', reason: `Failed to parse value [${String(value)}] as only [true] or [false] are allowed.` });
    }
    if (type === 'date' || type === 'date_nanos') {
      if (typeof value === 'number' && Number.isFinite(value)) return;
      if (typeof value === 'string' && /^\d+$/.test(value)) return; // epoch_millis
      if (typeof value === 'string' && DATE_RE.test(value) && !Number.isNaN(Date.parse(value))) return;
      return malformed({ type: 'illegal_argument_exception', reason: `failed to parse date field [${String(value)}] with format [strict_date_optional_time||epoch_millis]` });
    }
    if (type === 'ip') {
      if (typeof value === 'string' && isIP(value) !== 0) return;
      return malformed({ type: 'illegal_argument_exception', reason: `'${String(value)}' is not an IP string literal.` });
    }
  }

  /** ES's dynamic mapping: dynamic templates first, then string → date|text+keyword, integer → long, fraction → float. */
  private dynamicMapping(value: unknown, path: string, name: string): FieldMapping {
    const jt = jsonType(value);
    for (const entry of this.mapping.dynamic_templates ?? []) {
      const t = Object.values(entry)[0];
      if (t.match_mapping_type && t.match_mapping_type !== '*' && t.match_mapping_type !== jt && !(t.match_mapping_type === 'string' && jt === 'date')) continue;
      if (t.match && !globMatch(t.match, name)) continue;
      if (t.path_match && !globMatch(t.path_match, path)) continue;
      if (jt === 'object' && !t.mapping.type) return { ...structuredClone(t.mapping), properties: {} };
      return structuredClone(t.mapping);
    }
    switch (jt) {
      case 'date': return { type: 'date' };
      case 'string': return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
      case 'long': return { type: 'long' };
      case 'double': return { type: 'float' };
      case 'boolean': return { type: 'boolean' };
      default: return { properties: {} };
    }
  }
}

/** Deep-merges mappings the way composable templates compose (later wins per field). */
export function mergeMappings(target: RootMapping, source: Partial<RootMapping> | undefined): RootMapping {
  if (!source) return target;
  if (source.dynamic !== undefined) target.dynamic = source.dynamic;
  if (source.dynamic_templates) target.dynamic_templates = [...(target.dynamic_templates ?? []), ...structuredClone(source.dynamic_templates)];
  const mergeProps = (t: Record<string, FieldMapping>, s: Record<string, FieldMapping>) => {
    for (const k of Object.keys(s)) {
      const have = fieldOf(t, k);
      if (have?.properties && s[k].properties && !s[k].type) mergeProps(have.properties, s[k].properties!);
      else defineField(t, k, structuredClone(s[k]));
    }
  };
  if (source.properties) mergeProps(target.properties, source.properties);
  return target;
}
