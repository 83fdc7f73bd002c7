import { useEffect } from 'react';
import { useApp, useNotices } from '../context';
import type { Toast } from '../notices';
import { SvgIcon } from './icons';

const LIFETIME_MS: Record<Toast['kind'], number> = {
  info: 8000,
  success: 5000,
  warning: 12000,
  error: 12000,
};

export function Toasts() {
  const { toasts } = useNotices();
  return (
    <section className="toasts" aria-label="Notifications" aria-live="polite">
      {toasts.map((toast) => (
        <ToastItem key={toast.id} toast={toast} />
      ))}
    </section>
  );
}

function ToastItem({ toast }: { toast: Toast }) {
  const { notices } = useApp();
  useEffect(() => {
    const timer = setTimeout(() => notices.dismissToast(toast.id), LIFETIME_MS[toast.kind]);
    return () => clearTimeout(timer);
  }, [notices, toast.id, toast.kind]);
  return (
    <div className={`toast toast-${toast.kind}`} data-testid="toast" data-kind={toast.kind}>
      <div className="toast-body">
        <div className="toast-title">{toast.title}</div>
        {toast.text && <div className="toast-text">{toast.text}</div>}
      </div>
      <button
        type="button"
        className="btn btn-ghost btn-icon btn-small"
        onClick={() => notices.dismissToast(toast.id)}
        aria-label="Dismiss notification"
      >
        <SvgIcon name="close" size={14} />
      </button>
    </div>
  );
}
