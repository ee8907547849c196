const express = require('express');

/** The Express app, on the Prisma client it is given. */
function createApp({ prisma }) {
  const app = express();
  app.use(express.json());
  app.get('/users', async (_req, res, next) => {
    try {
      res.json(await prisma.user.findMany({ orderBy: { id: 'asc' } }));
    } catch (err) {
      next(err);
    }
  });
  app.post('/users', async (req, res, next) => {
    try {
      res.status(201).json(await prisma.user.create({ data: { email: req.body.email, name: req.body.name } }));
    } catch (err) {
      if (err && err.code === 'P2002') return res.status(409).json({ error: 'email taken' });
      next(err);
    }
  });
  return app;
}

module.exports = { createApp };
