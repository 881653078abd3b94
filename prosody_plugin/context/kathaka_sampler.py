"""Kathaka's stage two: a Gaussian over the prosody latent predicted from BERT and the
dependency graph (GATv2), trained with KL(posterior || prediction), with dense graph layers
for one sentence at synthesis; docs/stage_two.md ("Kathaka's sampler").
"""

from typing import Dict, Optional, Sequence, Tuple

import torch
from torch_geometric.nn import AttentionalAggregation, GATv2Conv

from prosody_plugin.context.abs_predictor import (
    SYNTAX_COLUMNS,
    AbsProsodyPredictor,
    word_mask,
)
from prosody_plugin.frontend.syntax import dependency_edges  # the one builder of the arcs

# Most nodes of a graph run densely (memory W * W * d floats per layer).
DENSE_MAX_NODES = 128


def dense_adjacency(edge_index: torch.Tensor, num_nodes: int) -> Optional[torch.Tensor]:
    """Bool (N, N) matrix, [i, j] True for an edge j -> i, self loops added; None when an
    edge repeats (torch_geometric would count it twice)."""
    src, dst = edge_index
    keep = src != dst
    src, dst = src[keep], dst[keep]
    counts = torch.zeros(num_nodes, num_nodes, dtype=torch.long, device=edge_index.device)
    counts.index_put_((dst, src), torch.ones_like(src), accumulate=True)
    if src.numel() and int(counts.max()) > 1:
        return None
    counts.fill_diagonal_(1)
    return counts.bool()


def supports_dense(conv: GATv2Conv) -> bool:
    """The GATv2Conv configurations :func:`dense_gatv2` computes (eval mode, or no dropout)."""
    return (
        conv.concat
        and conv.add_self_loops
        and conv.edge_dim is None
        and conv.res is None
        and (not conv.training or conv.dropout == 0.0)
    )


def dense_gatv2(conv: GATv2Conv, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    """``conv(x, edge_index)`` of one graph given as a dense adjacency (:func:`dense_adjacency`).

    GATv2 (torch_geometric's ``GATv2Conv``): for target i and source j,
    ``e_ij = att . leaky_relu(W_r x_i + W_l x_j)``, softmax over the sources of i, and
    ``out_i = sum_j alpha_ij W_l x_j + bias``, per head, heads concatenated.
    """
    H, C = conv.heads, conv.out_channels
    x_l = conv.lin_l(x).view(-1, H, C)
    x_r = x_l if conv.share_weights else conv.lin_r(x).view(-1, H, C)
    scores = torch.nn.functional.leaky_relu(x_r[:, None] + x_l[None, :], conv.negative_slope)
    alpha = (scores * conv.att).sum(dim=-1)  # (N_target, N_source, H)
    alpha = alpha.masked_fill(~adjacency[..., None], float("-inf")).softmax(dim=1)
    if alpha.size(0) <= 40:  # sum_j alpha_ijh x_jhc: broadcasting beats einsum for few nodes
        out = (alpha[..., None] * x_l[None]).sum(dim=1)
    else:
        out = torch.bmm(alpha.permute(2, 0, 1), x_l.transpose(0, 1)).transpose(0, 1)
    out = out.reshape(-1, H * C)
    return out if conv.bias is None else out + conv.bias


def dense_attention_pool(pool: AttentionalAggregation, x: torch.Tensor) -> torch.Tensor:
    """``pool(x, batch, dim_size=1)`` for the nodes of one graph: (N, d) -> (1, d)."""
    gate = torch.softmax(pool.gate_nn(x), dim=0)
    return (gate * (x if pool.nn is None else pool.nn(x))).sum(dim=0, keepdim=True)


def gaussian_kl(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(N(mu_q, var_q) || N(mu_p, var_p)), summed over the last axis."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p).pow(2)) / logvar_p.exp() - 1.0).sum(
        -1
    )


class KathakaSampler(AbsProsodyPredictor):
    """BERT + dependency-graph attention network predicting Kathaka's latent distribution.

    Args:
        input_size (int): Word embedding size H (BERT hidden size).
        latent_dim (int): Kathaka's latent dimension D (the stage-one model's latent_dim).
        vocab_sizes (Dict[str, int]): Number of classes of each syntax column.
        hidden_size (int): Node feature size d.
        gnn_layers (int): Graph attention layers.
        attention_heads (int): Heads per layer (d must divide by it).
        syntax_columns (Sequence[str]): Categorical syntax features of the nodes.
        syntax_embed_dim (int): Embedding size per syntax column.
        dropout_rate (float): Dropout of features and attention.
        min_logvar (float): Floor of the predicted log-variance (numerical safety).

    """

    def __init__(
        self,
        input_size: int,
        latent_dim: int,
        vocab_sizes: Dict[str, int],
        hidden_size: int = 256,
        gnn_layers: int = 2,
        attention_heads: int = 4,
        syntax_columns: Sequence[str] = ("pos", "dep"),
        syntax_embed_dim: int = 16,
        dropout_rate: float = 0.1,
        min_logvar: float = -7.0,
    ):
        super().__init__()
        if hidden_size % attention_heads:
            raise ValueError(f"hidden_size {hidden_size} must divide by attention_heads {attention_heads}")
        self.latent_dim = latent_dim
        self.min_logvar = min_logvar
        self.build_word_input(
            input_size, hidden_size, vocab_sizes, syntax_columns, syntax_embed_dim, dropout_rate
        )
        self.convs = torch.nn.ModuleList(
            GATv2Conv(
                hidden_size, hidden_size // attention_heads, heads=attention_heads, dropout=dropout_rate
            )
            for _ in range(gnn_layers)
        )
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(hidden_size) for _ in range(gnn_layers))
        self.dropout = torch.nn.Dropout(dropout_rate)
        self.pool = AttentionalAggregation(gate_nn=torch.nn.Linear(hidden_size, 1))
        self.output_layer = torch.nn.Sequential(
            torch.nn.Linear(hidden_size, hidden_size),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden_size, 2 * latent_dim),
        )

    def distribution(
        self, bert: torch.Tensor, lengths: torch.Tensor, syntax: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Predicted mu and logvar (B, D) each from bert (B, W, H) and syntax (B, W, K)."""
        nodes = self.word_input(bert, syntax)
        if bool((lengths == bert.size(1)).all()):  # no padding (one sentence): the same, cheaper
            nodes = nodes.reshape(-1, nodes.size(-1))
            batch = torch.arange(len(lengths), device=bert.device).repeat_interleave(bert.size(1))
        else:
            nodes = nodes[word_mask(lengths, bert.size(1))]
            batch = torch.arange(len(lengths), device=bert.device).repeat_interleave(lengths)
        edge_index = dependency_edges(syntax[..., SYNTAX_COLUMNS.index("head")], lengths)
        adjacency = None
        if (
            len(lengths) == 1
            and nodes.size(0) <= DENSE_MAX_NODES
            and not self.training
            and all(supports_dense(conv) for conv in self.convs)
        ):
            adjacency = dense_adjacency(edge_index, nodes.size(0))
        for conv, norm in zip(self.convs, self.norms):
            out = conv(nodes, edge_index) if adjacency is None else dense_gatv2(conv, nodes, adjacency)
            nodes = norm(nodes + self.dropout(torch.nn.functional.elu(out)))
        if adjacency is None:
            sentence = self.pool(nodes, batch, dim_size=len(lengths))
        else:
            sentence = dense_attention_pool(self.pool, nodes)
        mu, logvar = self.output_layer(sentence).chunk(2, dim=-1)
        return mu, logvar.clamp(min=self.min_logvar)

    def loss(
        self, bert, bert_lengths, syntax, target, target_lengths=None
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """KL(stage-one posterior || predicted distribution), averaged over the batch; the
        target is the posterior [mu_q, logvar_q] (B, 2 * D)."""
        if target.size(-1) != 2 * self.latent_dim:
            raise ValueError(
                f"target must hold mu and logvar of {self.latent_dim} dims, got {target.size(-1)}"
            )
        mu_p, logvar_p = self.distribution(bert, bert_lengths, syntax)
        mu_q, logvar_q = target.chunk(2, dim=-1)
        kl = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p).mean()
        stats = dict(
            loss=kl.detach(),
            mu_mse=(mu_p - mu_q).pow(2).mean().detach(),
            predicted_std=(0.5 * logvar_p).exp().mean().detach(),
        )
        return kl, stats

    @torch.no_grad()
    def sample(
        self, bert: torch.Tensor, lengths: torch.Tensor, syntax: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """Latents (B, D) of a padded batch: samples at ``temperature``, the means at 0."""
        mu, logvar = self.distribution(bert, lengths, syntax)
        return mu + temperature * (0.5 * logvar).exp() * torch.randn_like(mu)

    def predict(self, bert: torch.Tensor, syntax: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """A latent (D,) for one sentence: a sample at ``temperature``, the mean at 0."""
        return self.sample(bert[None], bert.new_tensor([len(bert)]).long(), syntax[None], temperature)[0]
