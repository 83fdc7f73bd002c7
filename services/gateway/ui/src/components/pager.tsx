const PAGE_SIZES = [25, 50, 100];

interface PagerProps {
  /** Rows on this page. */
  shown: number;
  total: number;
  offset: number;
  limit: number;
  hasMore: boolean;
  loading: boolean;
  /** What the rows are, for "No tasks". */
  noun: string;
  /** Prefix of the test ids: `<prefix>-range`, `<prefix>-prev`, `<prefix>-next`. */
  testId: string;
  onLimit(limit: number): void;
  onOffset(offset: number): void;
}

/** "1–50 of 120", page size, previous and next, for server-paged lists. */
export function Pager({
  shown,
  total,
  offset,
  limit,
  hasMore,
  loading,
  noun,
  testId,
  onLimit,
  onOffset,
}: PagerProps) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + shown, total);
  return (
    <div className="pager">
      <span className="muted small" data-testid={`${testId}-range`}>
        {total === 0 ? `No ${noun}` : `${from}–${to} of ${total}`}
      </span>
      <label className="small muted pager-size">
        Per page{' '}
        <select
          className="input select select-small"
          value={limit}
          onChange={(e) => {
            onLimit(Number(e.target.value));
            onOffset(0);
          }}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        className="btn btn-secondary btn-small"
        disabled={offset === 0 || loading}
        onClick={() => onOffset(Math.max(0, offset - limit))}
        data-testid={`${testId}-prev`}
      >
        Previous
      </button>
      <button
        type="button"
        className="btn btn-secondary btn-small"
        disabled={!hasMore || loading}
        onClick={() => onOffset(offset + limit)}
        data-testid={`${testId}-next`}
      >
        Next
      </button>
    </div>
  );
}
