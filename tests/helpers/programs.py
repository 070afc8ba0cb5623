"""Programs written as their library's users write them, shared by the tests that run them."""

LIGHTNING = """\
import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger

class Model(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
    def training_step(self, batch, _):
        loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

L.seed_everything(0)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
trainer = L.Trainer(max_epochs=2, logger=CSVLogger("logs"), log_every_n_steps=1,
                    enable_progress_bar=False, enable_checkpointing=False,
                    enable_model_summary=False, accelerator="cpu")
trainer.fit(Model(), torch.utils.data.DataLoader(data, batch_size=8))
"""
