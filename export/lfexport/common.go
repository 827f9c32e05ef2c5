package lfexport

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	lf "github.com/lakefuse/lakefuse/internal/langfuse"
	"github.com/lakefuse/lakefuse/schema"
)

// commonTasks are the entities both API generations serve the same way.
func (e *exporter) commonTasks() []task {
	return []task{
		{name: "score_configs", tables: []string{"score_configs"}, run: e.scoreConfigs},
		{name: "models", tables: []string{"models"}, run: e.models},
		{name: "prompts", tables: []string{"prompts"}, run: e.prompts},
		{name: "datasets", tables: []string{"datasets"}, run: e.datasets},
		{name: "dataset_items", tables: []string{"dataset_items", "media"}, run: e.datasetItems},
		{name: "annotation_queues", tables: []string{"annotation_queues", "annotation_queue_items"}, run: e.annotationQueues},
		{name: "comments", tables: []string{"comments"}, run: e.comments},
	}
}

func (e *exporter) total(table string) func(int) {
	return func(n int) { e.stats.addTotal(table, n) }
}

func (e *exporter) scoreConfigs(ctx context.Context) error {
	return e.c.ListScoreConfigs(ctx, lf.PageOptions{OnTotal: e.total("score_configs")}, func(page []lf.ScoreConfig) error {
		for i := range page {
			r, err := scoreConfigRow(&page[i])
			if err != nil {
				return fmt.Errorf("score config %s: %w", page[i].ID, err)
			}
			if err := e.add(ctx, schema.ScoreConfigs, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *exporter) models(ctx context.Context) error {
	return e.c.ListModels(ctx, lf.PageOptions{}, func(page []lf.Model) error {
		for i := range page {
			if page[i].IsLangfuseManaged {
				continue
			}
			r, err := modelRow(&page[i])
			if err != nil {
				return fmt.Errorf("model %s: %w", page[i].ID, err)
			}
			if err := e.add(ctx, schema.Models, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// prompts exports every version of every prompt, unresolved. Versions of a
// page of prompts are fetched concurrently.
func (e *exporter) prompts(ctx context.Context) error {
	return e.c.ListPrompts(ctx, lf.PromptsQuery{}, func(page []lf.PromptMeta) error {
		type job struct {
			meta    *lf.PromptMeta
			version int
		}
		var jobs []job
		for i := range page {
			for _, v := range page[i].Versions {
				jobs = append(jobs, job{&page[i], v})
			}
		}
		e.stats.addTotal("prompts", len(jobs))
		rows := make([]*schema.Prompt, len(jobs))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.o.Concurrency)
		for i, j := range jobs {
			g.Go(func() error {
				p, err := e.c.GetPrompt(gctx, j.meta.Name, j.version)
				if err != nil {
					return err
				}
				if p.Name != j.meta.Name || p.Version != j.version {
					return fmt.Errorf("get prompt %q version %d: the server returned %q version %d", j.meta.Name, j.version, p.Name, p.Version)
				}
				rows[i], err = promptRow(p, j.meta)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for _, r := range rows {
			if err := e.add(ctx, schema.Prompts, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *exporter) datasets(ctx context.Context) error {
	return e.c.ListDatasets(ctx, lf.PageOptions{OnTotal: e.total("datasets")}, func(page []lf.Dataset) error {
		for i := range page {
			if err := e.add(ctx, schema.Datasets, datasetRow(&page[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *exporter) datasetItems(ctx context.Context) error {
	return e.c.ListDatasetItems(ctx, lf.DatasetItemsQuery{PageOptions: lf.PageOptions{OnTotal: e.total("dataset_items")}}, func(page []lf.DatasetItem) error {
		for i := range page {
			it := &page[i]
			if err := e.add(ctx, schema.DatasetItems, datasetItemRow(it)); err != nil {
				return err
			}
			if !e.tables["media"] {
				continue
			}
			for _, mr := range it.MediaReferences {
				ref := mediaRef{ID: mr.Media.MediaID, ContentType: mr.Media.ContentType, JSONPath: mr.JSONPath}
				if e.o.Redactor != nil && !e.o.Redactor.MediaKept("dataset_items", mr.Field, mr.JSONPath) {
					continue // inside a value the policy removes
				}
				info, err := e.media.resolve(ctx, ref)
				if err != nil {
					return err
				}
				if err := e.add(ctx, schema.Media, mediaRow(ref, info, nil, nil, ptr(it.ID), mr.Field)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// annotationQueues exports the queues and, concurrently per page of queues,
// their items.
func (e *exporter) annotationQueues(ctx context.Context) error {
	return e.c.ListAnnotationQueues(ctx, lf.PageOptions{OnTotal: e.total("annotation_queues")}, func(page []lf.AnnotationQueue) error {
		for i := range page {
			if err := e.add(ctx, schema.AnnotationQueues, queueRow(&page[i])); err != nil {
				return err
			}
		}
		if !e.tables["annotation_queue_items"] {
			return nil
		}
		var mu sync.Mutex
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.o.Concurrency)
		for i := range page {
			id := page[i].ID
			g.Go(func() error {
				return e.c.ListAnnotationQueueItems(gctx, id, "", lf.PageOptions{OnTotal: e.total("annotation_queue_items")}, func(items []lf.AnnotationQueueItem) error {
					mu.Lock()
					defer mu.Unlock()
					for j := range items {
						if err := e.add(ctx, schema.AnnotationQueueItems, queueItemRow(&items[j])); err != nil {
							return err
						}
					}
					return nil
				})
			})
		}
		return g.Wait()
	})
}

// comments lists every comment (the API has no time filter) and keeps those
// whose creation time lies in the run's range.
func (e *exporter) comments(ctx context.Context) error {
	return e.c.ListComments(ctx, lf.CommentsQuery{}, func(page []lf.Comment) error {
		for i := range page {
			r := commentRow(&page[i])
			if !e.inRange(r.CreatedAt) {
				continue
			}
			if err := e.add(ctx, schema.Comments, r); err != nil {
				return err
			}
		}
		return nil
	})
}
