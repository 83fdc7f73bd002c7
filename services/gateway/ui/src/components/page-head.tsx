import type { ReactNode } from 'react';
import { SvgIcon } from './icons';

/** A page's title and intro (the children), with Refresh (when it can refresh) and its other actions. */
export function PageHead(props: {
  title: string;
  children: ReactNode;
  onRefresh?: () => void;
  /** Shown before Refresh, e.g. when it was last checked. */
  status?: ReactNode;
  actions?: ReactNode;
}) {
  const { title, children, onRefresh, status, actions } = props;
  return (
    <div className="page-head">
      <div>
        <h1>{title}</h1>
        <p className="muted">{children}</p>
      </div>
      <div className="page-actions">
        {status}
        {onRefresh && (
          <button type="button" className="btn btn-secondary" onClick={onRefresh}>
            <SvgIcon name="refresh" size={14} /> Refresh
          </button>
        )}
        {actions}
      </div>
    </div>
  );
}
