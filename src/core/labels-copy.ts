/**
 * A copy of an event's labels, to tell whether the labels of a later event say the same: sinks
 * keep what they derive from labels (Loki's stream plan, Elasticsearch's labels JSON) for the
 * labels they last saw and reuse it while the content matches. Content, not identity: every
 * event has its own labels object and any stage may write into it as it likes.
 */
export class LabelsCopy {
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  /** The content as one string (names and values, in order), for use as a map key. */
  readonly key: string;

  constructor(labels: Readonly<Record<string, string>>) {
    let key = '';
    for (const name in labels) {
      const value = labels[name];
      this.names.push(name);
      this.values.push(value);
      key += name + '\u0000' + value + '\u0000';
    }
    this.key = key;
  }

  /** Whether `labels` holds exactly these names and values, in the same order. */
  matches(labels: Readonly<Record<string, string>>): boolean {
    const names = this.names;
    const values = this.values;
    let i = 0;
    for (const name in labels) {
      if (i >= names.length || names[i] !== name || values[i] !== labels[name]) return false;
      i++;
    }
    return i === names.length;
  }
}
