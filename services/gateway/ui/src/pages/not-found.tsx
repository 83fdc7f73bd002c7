import { Link } from '../router';

export function NotFoundPage() {
  return (
    <div className="page">
      <div className="page-head">
        <h1>Page not found</h1>
      </div>
      <div className="card empty">
        <p>There is no page at this address.</p>
        <Link to="/" className="btn btn-secondary">
          Go to the overview
        </Link>
      </div>
    </div>
  );
}
