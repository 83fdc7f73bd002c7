import {
  Background,
  type Connection,
  Controls,
  MiniMap,
  type Node,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { errorText } from '../api';
import { CreateTaskDialog } from '../components/create-task-dialog';
import { EDGE_TYPES, EdgeMarkers, NODE_TYPES } from '../components/graph-elements';
import { SvgIcon } from '../components/icons';
import { ProgressBar } from '../components/progress-bar';
import { ReadOnlyNotice } from '../components/role-notice';
import { useApp, useCanWrite, useTasks } from '../context';
import { parseTaskSummary } from '../coord-events';
import { type Layout, placeNewNodes } from '../graph-layout';
import { LayoutRunner, type LayoutWorker } from '../layout-runner';
import { navigate } from '../router';
import { taskPath } from '../routes';
import {
  type DepEdge,
  depEdges,
  FlowNodeCache,
  flowEdges,
  NODE_HEIGHT,
  NODE_WIDTH,
  refusedCycle,
} from '../task-graph';
import { isNotStarted } from '../task-status';
import { progressOf } from '../task-store';

/** Above this many tasks only what is on screen is drawn. */
const DRAW_VISIBLE_ABOVE = 300;

export function GraphPage() {
  return (
    <ReactFlowProvider>
      <Graph />
    </ReactFlowProvider>
  );
}

type Banner =
  | { kind: 'cycle'; path: string; from: string; to: string }
  | { kind: 'error'; text: string }
  | { kind: 'removed'; from: string; to: string }
  | { kind: 'added'; from: string; to: string };

function createLayoutWorker(): LayoutWorker | undefined {
  if (typeof Worker === 'undefined') return undefined;
  return new Worker(new URL('../graph-layout.worker.ts', import.meta.url), {
    type: 'module',
  }) as unknown as LayoutWorker;
}

/** The dependency graph, laid out left to right and live; in edit mode dependencies are drawn and removed. */
function Graph() {
  const { api, notices, tasks: sync } = useApp();
  const canWrite = useCanWrite();
  const snapshot = useTasks();
  const flow = useReactFlow();
  const [editing, setEditing] = useState(false);
  const [layout, setLayout] = useState<(Layout & { ms: number }) | undefined>();
  const [runner, setRunner] = useState<LayoutRunner | undefined>();
  const [layingOut, setLayingOut] = useState(false);
  const [marked, setMarked] = useState<DepEdge | undefined>();
  const [banner, setBanner] = useState<Banner | undefined>();
  const [busy, setBusy] = useState(false);
  const [creating, setCreating] = useState(false);
  const [find, setFind] = useState('');
  const [found, setFound] = useState<string | undefined>();
  const cache = useRef(new FlowNodeCache());
  const dismissBanner = useCallback(() => setBanner(undefined), []);
  const fitted = useRef(false);

  // One layout worker while the page is shown (made in an effect, so it is also ended with it).
  useEffect(() => {
    const created = new LayoutRunner((next) => {
      setLayout(next);
      setLayingOut(created.busy);
    }, createLayoutWorker);
    setRunner(created);
    return () => created.dispose();
  }, []);

  // The layout depends on which tasks and dependencies exist, not on statuses: recompute it only
  // when that structure changes. The viewport is left where the user put it.
  const structure = snapshot.structure;
  const tasksRef = useRef(snapshot.tasks);
  tasksRef.current = snapshot.tasks;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the structure counter stands for the tasks' ids and deps
  const edges = useMemo(() => depEdges(tasksRef.current), [structure]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: as above
  const nodeIds = useMemo(() => [...tasksRef.current.keys()], [structure]);
  useEffect(() => {
    if (snapshot.load.status === 'idle') return;
    if (!runner) return;
    runner.request({ nodes: nodeIds, edges });
    setLayingOut(true);
  }, [runner, nodeIds, edges, snapshot.load.status]);

  const positions = useMemo(
    () => (layout ? placeNewNodes(layout.positions, nodeIds, edges) : new Map()),
    [layout, nodeIds, edges],
  );
  const nodes = useMemo(
    () => cache.current.nodes(snapshot.tasks, positions, editing, found),
    [snapshot.tasks, positions, editing, found],
  );
  const rfEdges = useMemo(
    () => flowEdges(snapshot.tasks, edges, { editing, marked: marked?.id }),
    [snapshot.tasks, edges, editing, marked],
  );

  // Fit once, when the first layout is on screen; afterwards only the Fit button moves the view.
  useEffect(() => {
    if (fitted.current || !layout || nodes.length === 0) return;
    fitted.current = true;
    requestAnimationFrame(() => void flow.fitView({ padding: 0.15, maxZoom: 1.2 }));
  }, [layout, nodes.length, flow]);

  const toggleEditing = useCallback(() => {
    if (!canWrite) {
      notices.toast('info', 'Read-only', 'Changing dependencies needs the operator role.');
      return;
    }
    setEditing((on) => !on);
    setMarked(undefined);
  }, [canWrite, notices]);

  // `e` toggles edit mode, except while typing; Escape leaves it.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      // Not behind an open dialog (the new-task form).
      if (document.querySelector('dialog[open]')) return;
      if (e.key === 'e' || e.key === 'E') {
        e.preventDefault();
        toggleEditing();
      } else if (e.key === 'Escape') {
        setMarked(undefined);
        setEditing(false);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [toggleEditing]);

  const titleOf = (id: string) => snapshot.tasks.get(id)?.title ?? id;
  const adopt = (task: unknown) => {
    const summary = parseTaskSummary(task);
    if (summary) sync.store.upsert(summary);
  };

  /** Dragging from A's right handle onto B: B waits for A. */
  const onConnect = async (connection: Connection) => {
    const depId = connection.source;
    const id = connection.target;
    if (!depId || !id || depId === id) return;
    setBanner(undefined);
    setBusy(true);
    try {
      adopt(await api.addDep(id, depId));
      setBanner({ kind: 'added', from: depId, to: id });
      notices.action(`“${titleOf(id)}” now waits for “${titleOf(depId)}”`);
    } catch (err) {
      const path = refusedCycle(err, snapshot.tasks, id, depId);
      if (path) setBanner({ kind: 'cycle', path, from: depId, to: id });
      else
        setBanner({
          kind: 'error',
          text: `${titleOf(id)} cannot wait for ${titleOf(depId)}: ${errorText(err)}`,
        });
      notices.error(`Add dependency ${depId} → ${id}: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const removeEdge = async (edge: DepEdge, undo = false) => {
    setMarked(undefined);
    setBusy(true);
    try {
      if (undo) adopt(await api.addDep(edge.to, edge.from));
      else adopt(await api.removeDep(edge.to, edge.from));
      setBanner(
        undo
          ? { kind: 'added', from: edge.from, to: edge.to }
          : { kind: 'removed', from: edge.from, to: edge.to },
      );
      notices.action(
        undo
          ? `“${titleOf(edge.to)}” waits for “${titleOf(edge.from)}” again`
          : `“${titleOf(edge.to)}” no longer waits for “${titleOf(edge.from)}”`,
      );
    } catch (err) {
      setBanner({
        kind: 'error',
        text: `Could not ${undo ? 'restore' : 'remove'} ${edge.from} → ${edge.to}: ${errorText(err)}`,
      });
      notices.error(`Remove dependency ${edge.from} → ${edge.to}: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const onNodeClick = (_: unknown, node: Node) => {
    if (!editing) navigate(taskPath(node.id));
  };

  const findTask = () => {
    const q = find.trim().toLowerCase();
    if (!q) return;
    const task = [...snapshot.tasks.values()].find(
      (t) => t.id.toLowerCase() === q || t.id.toLowerCase().includes(q) || t.title.toLowerCase().includes(q),
    );
    const pos = task && positions.get(task.id);
    if (!task || !pos) {
      notices.toast('info', 'Not found', `No task matches "${find.trim()}".`);
      return;
    }
    setFound(task.id);
    void flow.setCenter(pos.x + NODE_WIDTH / 2, pos.y + NODE_HEIGHT / 2, { zoom: 1.1, duration: 300 });
  };

  const progress = useMemo(() => progressOf(snapshot.tasks.values()), [snapshot.tasks]);
  const large = nodes.length > DRAW_VISIBLE_ABOVE;
  const markedTask = marked && snapshot.tasks.get(marked.to);

  return (
    <div className="page page-full graph-page">
      <div className="page-head">
        <div>
          <h1>Graph</h1>
          <p className="muted">
            Dependencies run left to right: a task waits for every task with an arrow into it.
          </p>
        </div>
        <div className="page-actions">
          <div className="picker-box graph-find">
            <SvgIcon name="search" size={14} />
            <input
              className="picker-input"
              value={find}
              onChange={(e) => setFind(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') findTask();
              }}
              placeholder="Find a task"
              aria-label="Find a task"
              data-testid="graph-find"
            />
          </div>
          <button
            type="button"
            className="btn btn-secondary"
            onClick={() => void flow.fitView({ padding: 0.15, duration: 300, maxZoom: 1.2 })}
            data-testid="graph-fit"
          >
            <SvgIcon name="fit" size={14} /> Fit view
          </button>
          <button
            type="button"
            className={`btn ${editing ? 'btn-primary' : 'btn-secondary'}`}
            onClick={toggleEditing}
            aria-pressed={editing}
            disabled={!canWrite}
            title={canWrite ? 'Edit dependencies (E)' : 'Changing dependencies needs the operator role'}
            data-testid="graph-edit-toggle"
            data-editing={editing}
          >
            <SvgIcon name="edit" size={14} /> {editing ? 'Done editing' : 'Edit'}
            <kbd>E</kbd>
          </button>
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => setCreating(true)}
            disabled={!canWrite}
            data-testid="graph-new-task"
          >
            <SvgIcon name="plus" size={14} /> New task
          </button>
        </div>
      </div>

      {!canWrite && <ReadOnlyNotice what="change dependencies" />}
      <ProgressBar progress={progress} testId="graph-progress" />

      {editing && (
        <div className="callout callout-edit" data-testid="graph-edit-help">
          <strong>Edit mode.</strong>
          <span>
            Drag from a task's <span className="handle-sample handle-sample-out" aria-hidden="true" /> right
            handle onto another task: the task you drop on <em>waits for</em> the one you started from
            (dependency on the left, dependent on the right). Click an arrow to remove it. <kbd>E</kbd> or{' '}
            <kbd>Esc</kbd> leaves.
          </span>
        </div>
      )}

      <BannerView
        banner={banner}
        busy={busy}
        onDismiss={dismissBanner}
        titleOf={(id) => snapshot.tasks.get(id)?.title ?? id}
        onUndo={(edge) => void removeEdge(edge, true)}
      />

      <div
        className={`graph-canvas card ${editing ? 'is-editing' : ''}`}
        data-testid="graph-canvas"
        data-editing={editing}
      >
        <EdgeMarkers />
        {snapshot.load.status === 'failed' && snapshot.tasks.size === 0 ? (
          <div className="graph-overlay callout callout-error" role="alert">
            Could not load the tasks: {snapshot.load.message}
          </div>
        ) : snapshot.tasks.size === 0 && snapshot.load.status === 'ready' ? (
          <div className="graph-overlay muted" data-testid="graph-empty">
            No tasks yet. Create one to see it here.
          </div>
        ) : (!layout && snapshot.tasks.size > 0) || snapshot.load.status === 'loading' ? (
          <div className="graph-overlay" role="status">
            <div className="spinner" aria-hidden="true" /> Laying out {snapshot.tasks.size} tasks…
          </div>
        ) : null}
        <ReactFlow
          nodes={nodes}
          edges={rfEdges}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          onConnect={(c) => void onConnect(c)}
          onEdgeClick={(_, edge) => {
            if (!editing) return;
            setBanner(undefined);
            setMarked({ id: edge.id, from: edge.source, to: edge.target });
          }}
          onNodeClick={onNodeClick}
          onPaneClick={() => {
            setMarked(undefined);
            setFound(undefined);
          }}
          nodesDraggable={false}
          nodesConnectable={editing && !busy}
          elementsSelectable={editing}
          edgesFocusable={editing}
          connectionRadius={40}
          onlyRenderVisibleElements={large}
          minZoom={0.05}
          maxZoom={2}
          deleteKeyCode={null}
          selectionKeyCode={null}
          multiSelectionKeyCode={null}
          zoomOnDoubleClick={false}
          proOptions={{ hideAttribution: false }}
        >
          <Background gap={24} size={1} />
          <Controls showInteractive={false} />
          {nodes.length > 12 && (
            <MiniMap
              pannable
              zoomable
              nodeClassName={(n) => `minimap-node bg-${(n.data as { task: { status: string } }).task.status}`}
            />
          )}
        </ReactFlow>
        {marked && (
          <div
            className="edge-confirm"
            role="dialog"
            aria-label="Remove dependency"
            data-testid="edge-confirm"
          >
            <span>
              Remove the dependency? “{titleOf(marked.to)}” would no longer wait for “{titleOf(marked.from)}”.{' '}
              {markedTask && !isNotStarted(markedTask.status) && (
                <span className="muted">It has started; the server will refuse.</span>
              )}
            </span>
            <button
              type="button"
              className="btn btn-secondary btn-small"
              onClick={() => setMarked(undefined)}
            >
              Keep
            </button>
            <button
              type="button"
              className="btn btn-danger btn-small"
              onClick={() => void removeEdge(marked)}
              disabled={busy}
              data-testid="edge-remove-confirm"
            >
              Remove
            </button>
          </div>
        )}
        <div className="graph-status muted small" data-testid="graph-status">
          {nodes.length} tasks · {edges.length} dependencies
          {layout && ` · layout ${layout.ms} ms${layout.engine === 'dagre-fast' ? ' (fast ranking)' : ''}`}
          {layingOut && ' · laying out…'}
        </div>
      </div>

      <CreateTaskDialog open={creating} onClose={() => setCreating(false)} />
    </div>
  );
}

function BannerView(props: {
  banner: Banner | undefined;
  busy: boolean;
  titleOf: (id: string) => string;
  onDismiss: () => void;
  onUndo: (edge: DepEdge) => void;
}) {
  const { banner, busy, titleOf, onDismiss, onUndo } = props;
  // The "added/removed" notes go away by themselves; errors stay until dismissed.
  useEffect(() => {
    if (banner?.kind !== 'added' && banner?.kind !== 'removed') return;
    const timer = setTimeout(onDismiss, 10_000);
    return () => clearTimeout(timer);
  }, [banner, onDismiss]);
  if (!banner) return null;
  const dismiss = (
    <button
      type="button"
      className="btn btn-ghost btn-icon btn-small banner-close"
      onClick={onDismiss}
      aria-label="Dismiss"
    >
      <SvgIcon name="close" size={14} />
    </button>
  );
  switch (banner.kind) {
    case 'cycle':
      return (
        <div className="callout callout-error cycle-banner" role="alert" data-testid="cycle-banner">
          <div className="cycle-text">
            <strong>
              Refused: “{titleOf(banner.to)}” cannot wait for “{titleOf(banner.from)}”, that would close a
              cycle:
            </strong>
            <span className="mono cycle-path" data-testid="cycle-path">
              {banner.path}
            </span>
            <span className="cycle-titles" data-testid="cycle-titles">
              {banner.path
                .split(' → ')
                .map((id) => titleOf(id))
                .join(' → ')}
            </span>
          </div>
          {dismiss}
        </div>
      );
    case 'error':
      return (
        <div className="callout callout-error" role="alert" data-testid="graph-error">
          <span>{banner.text}</span>
          {dismiss}
        </div>
      );
    case 'added':
      return (
        <div className="callout callout-info" data-testid="graph-added">
          <span>
            “{titleOf(banner.to)}” now waits for “{titleOf(banner.from)}”.
          </span>
          {dismiss}
        </div>
      );
    case 'removed':
      return (
        <div className="callout callout-info" data-testid="graph-removed">
          <span>
            “{titleOf(banner.to)}” no longer waits for “{titleOf(banner.from)}”.
          </span>
          <button
            type="button"
            className="link-button"
            disabled={busy}
            onClick={() => onUndo({ id: `${banner.from}->${banner.to}`, from: banner.from, to: banner.to })}
            data-testid="edge-undo"
          >
            Undo
          </button>
          {dismiss}
        </div>
      );
  }
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}
