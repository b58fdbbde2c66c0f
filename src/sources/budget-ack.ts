import type { ByteBudget } from '../core/budget.ts';
import type { Ack } from '../core/record.ts';

/**
 * The ack of a record that has no position to commit (a network message: the sender keeps no
 * replay point) but still holds memory: its bytes count against the global budget from receipt
 * until every sink reached a final state for it, so a slow sink throttles the receiver.
 */
export class BudgetAck implements Ack {
  private refs = 1;
  private bytes: number;
  private readonly budget: ByteBudget;

  constructor(budget: ByteBudget, bytes: number) {
    this.budget = budget;
    this.bytes = bytes;
    budget.acquire(bytes);
  }

  retain(n: number): void {
    this.refs += n;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) {
      this.budget.release(this.bytes);
      this.bytes = 0;
    }
  }

  absorb(other: Ack): void {
    other.release();
  }
}
